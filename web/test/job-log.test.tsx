// The job log viewer: a 100,000-line log puts only the visible lines in the DOM; ANSI colours become
// styled spans (never HTML); search finds and marks matches; #L links parse; chunks resent after a
// reconnect are not shown twice.
import { render } from '@solidjs/testing-library';
import { createSignal } from 'solid-js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  LogLines,
  SegmentCache,
  byteLength,
  lineHash,
  markMatches,
  openSgr,
  parseAnsi,
  parseLineHash,
  searchLines,
  stepMatch,
  visibleText,
} from '../src/log/log-model';
import { LINE_HEIGHT, LogView } from '../src/log/log-view';

const red = '\u001b[31m';
const boldGreen = '\u001b[1;32m';
const reset = '\u001b[0m';

describe('LogLines', () => {
  it('joins chunks that split a line, and counts no empty line after a final newline', () => {
    const log = new LogLines();
    log.append(0, 'first\nsec');
    log.append(byteLength('first\nsec'), 'ond\nthird\n');
    expect(log.lines.slice(0, log.count)).toEqual(['first', 'second', 'third']);
    expect(log.count).toBe(3);
    expect(log.size).toBe(byteLength('first\nsecond\nthird\n'));
  });

  it('skips bytes it already has when a stream resumes from an earlier offset (multi-byte characters too)', () => {
    const log = new LogLines();
    log.append(0, 'héllo\n');
    expect(log.append(0, 'héllo\n')).toBe(false);
    expect(log.append(3, 'llo\nworld ✓\n')).toBe(true);
    expect(log.lines.slice(0, log.count)).toEqual(['héllo', 'world ✓']);
    expect(log.size).toBe(byteLength('héllo\nworld ✓\n'));
  });

  it('shows what a terminal shows of carriage returns', () => {
    expect(visibleText('line\r')).toBe('line');
    expect(visibleText('10%\r50%\r100%')).toBe('100%');
  });
});

describe('ANSI', () => {
  it('turns SGR codes into styled segments and drops the codes', () => {
    const segments = parseAnsi(`plain ${red}error${reset} and ${boldGreen}ok${reset}`);
    expect(segments.map((segment) => segment.text).join('')).toBe('plain error and ok');
    const error = segments.find((segment) => segment.text === 'error');
    expect(error?.fg).toMatch(/^rgb\(/);
    const ok = segments.find((segment) => segment.text === 'ok');
    expect(ok?.bold).toBe(true);
    expect(ok?.fg).toMatch(/^rgb\(/);
    expect(segments.find((segment) => segment.text === 'plain ')?.fg).toBeUndefined();
  });

  it('marks matches across segment boundaries, ignoring case', () => {
    const segments = markMatches(parseAnsi(`ER${red}ROR here, error there${reset}`), 'error');
    const marked = segments.filter((segment) => segment.match).map((segment) => segment.text);
    expect(marked).toEqual(['ER', 'ROR', 'error']);
    expect(segments.map((segment) => segment.text).join('')).toBe('ERROR here, error there');
  });
});

describe('colours across lines', () => {
  it('keeps what a line leaves open for the lines after it, until a reset', () => {
    const log = new LogLines();
    log.append(0, `${red}red starts\nstill red\n`);
    log.append(byteLength(`${red}red starts\nstill red\n`), `${reset}plain again\n`);
    expect(log.startStyle(0)).toBe('');
    expect(log.startStyle(1)).toBe(red);
    expect(log.startStyle(2)).toBe(red);
    const cache = new SegmentCache();
    expect(cache.get(log.lines[1] ?? '', log.startStyle(1))[0]?.fg).toMatch(/^rgb\(/);
    expect(cache.get(log.lines[2] ?? '', log.startStyle(2)).find((segment) => segment.text === 'plain again')?.fg).toBeUndefined();
    expect(log.startStyle(3)).toBe('');
  });

  it('follows resets and 256-colour arguments', () => {
    expect(openSgr('', 'no codes')).toBe('');
    expect(openSgr(red, 'no codes')).toBe(red);
    expect(openSgr('', `${boldGreen}x`)).toBe(boldGreen);
    expect(openSgr(red, '\u001b[mx')).toBe('');
    expect(openSgr(red, '\u001b[0;33mx')).toBe('\u001b[33m');
    expect(openSgr('', '\u001b[38;5;0mblack')).toBe('\u001b[38;5;0m');
    expect(openSgr('', '\u001b[38;2;0;0;0;1mx')).toBe('\u001b[38;2;0;0;0;1m');
  });
});

describe('search and line links', () => {
  it('finds lines ignoring case and colour codes', () => {
    const lines = ['Build started', `${red}ERR${reset}OR: disk full`, 'ok', 'another error', ''];
    expect(searchLines(lines, 4, 'error')).toEqual([1, 3]);
    expect(searchLines(lines, 4, '')).toEqual([]);
    expect(searchLines(lines, 4, 'nothing')).toEqual([]);
  });

  it('steps through matches, wrapping around', () => {
    expect(stepMatch(-1, 3, 1)).toBe(0);
    expect(stepMatch(-1, 3, -1)).toBe(2);
    expect(stepMatch(2, 3, 1)).toBe(0);
    expect(stepMatch(0, 3, -1)).toBe(2);
    expect(stepMatch(0, 0, 1)).toBe(-1);
  });

  it('parses #L123 and #L10-L20, and nothing else', () => {
    expect(parseLineHash('#L123')).toEqual({ first: 123, last: 123 });
    expect(parseLineHash('#L10-L20')).toEqual({ first: 10, last: 20 });
    expect(parseLineHash('#L20-L10')).toEqual({ first: 10, last: 20 });
    expect(parseLineHash('#L0')).toBeNull();
    expect(parseLineHash('#line-3')).toBeNull();
    expect(parseLineHash('')).toBeNull();
    expect(parseLineHash('#L12abc')).toBeNull();
    expect(lineHash({ first: 5, last: 5 })).toBe('#L5');
    expect(lineHash({ first: 5, last: 9 })).toBe('#L5-L9');
  });
});

describe('LogView', () => {
  const height = 400;
  let restore: () => void;
  beforeEach(() => {
    // jsdom lays nothing out: give the scroller a height so the virtualizer knows what is visible.
    const descriptor = Object.getOwnPropertyDescriptor(HTMLElement.prototype, 'clientHeight');
    Object.defineProperty(HTMLElement.prototype, 'clientHeight', { configurable: true, get: () => height });
    restore = () => {
      if (descriptor) Object.defineProperty(HTMLElement.prototype, 'clientHeight', descriptor);
    };
  });
  afterEach(() => restore());

  function bigLog(lines: number): LogLines {
    const log = new LogLines();
    const text: string[] = [];
    for (let index = 1; index <= lines; index++) text.push(index % 1000 === 0 ? `${red}line ${index} failed${reset}` : `line ${index} ok`);
    log.append(0, `${text.join('\n')}\n`);
    return log;
  }

  function view(log: LogLines, options: { query?: string; matches?: number[]; current?: number; selected?: { first: number; last: number } } = {}) {
    const onSelectLine = vi.fn();
    const [follow, setFollow] = createSignal(false);
    const result = render(() => (
      <LogView
        log={log}
        revision={() => 1}
        query={() => options.query ?? ''}
        matches={() => options.matches ?? []}
        currentMatch={() => options.current ?? -1}
        selected={() => options.selected ?? null}
        onSelectLine={onSelectLine}
        follow={follow}
        onFollowChange={setFollow}
        initialHeight={height}
      />
    ));
    return { ...result, onSelectLine };
  }

  it('renders only the visible lines of a 100,000-line log', () => {
    const log = bigLog(100_000);
    expect(log.count).toBe(100_000);
    const started = performance.now();
    const { container } = view(log);
    const elapsed = performance.now() - started;
    const rows = container.querySelectorAll('.log-line');
    // A 400px viewport holds 20 lines; the virtualizer adds its overscan either side.
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThanOrEqual(height / LINE_HEIGHT + 2 * 10 + 1);
    expect((container.querySelector('.log-lines') as HTMLElement).style.height).toBe(`${100_000 * LINE_HEIGHT}px`);
    expect(rows[0]?.textContent).toBe('1line 1 ok');
    expect(elapsed).toBeLessThan(1000);
  });

  it('renders ANSI colours as styled spans, never as markup from the log', () => {
    const log = new LogLines();
    log.append(0, `${red}<img src=x onerror=alert(1)>${reset} done\n`);
    const { container } = view(log);
    const text = container.querySelector('.log-line-text') as HTMLElement;
    expect(text.querySelector('img')).toBeNull();
    expect(text.textContent).toBe('<img src=x onerror=alert(1)> done');
    const coloured = [...text.querySelectorAll('span')].find((span) => span.textContent === '<img src=x onerror=alert(1)>');
    expect(coloured?.style.color).toMatch(/^rgb\(/);
  });

  it('marks search matches, highlights the current one and the linked line, and reports clicks on line numbers', () => {
    const log = new LogLines();
    log.append(0, 'alpha\nbeta error\ngamma\nERROR again\n');
    const { container, onSelectLine } = view(log, { query: 'error', matches: [1, 3], current: 1, selected: { first: 3, last: 3 } });
    const marks = [...container.querySelectorAll('mark')].map((mark) => mark.textContent);
    expect(marks).toEqual(['error', 'ERROR']);
    expect(container.querySelector('.current-match')?.getAttribute('data-line')).toBe('4');
    expect(container.querySelector('.selected')?.getAttribute('data-line')).toBe('3');
    const link = container.querySelector('a[href="#L2"]') as HTMLAnchorElement;
    expect(link.id).toBe('L2');
    link.dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true, shiftKey: true }));
    expect(onSelectLine).toHaveBeenCalledWith(2, true);
  });
});
