// The job log viewer's pure pieces: the log as lines that grow as chunks arrive (by byte offset, so a
// chunk sent twice after a reconnect is not shown twice), ANSI colour codes parsed one line at a time
// (only the lines on screen, cached), search over the text without its colour codes, and the #L123
// line links. No DOM here: the view (log-view.tsx) renders what these return.
import Anser from 'anser';

type AnserJsonEntry = Anser.AnserJsonEntry;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Bytes of `text` in UTF-8: the unit of the API's log offsets. */
export function byteLength(text: string): number {
  return encoder.encode(text).length;
}

/**
 * The log received so far. `lines` holds every line; the last one may still be growing (no newline
 * yet). `size` is the bytes received, what the next chunk's offset should be.
 *
 * A colour set on one line and not reset lasts into the next ones, as in a terminal; lines are parsed
 * one at a time (only those on screen), so each line that starts inside such a colour records the
 * SGR codes still open at its start (`startStyle`). Finding them costs a scan of the lines that
 * have escape codes, once, as they arrive.
 */
export class LogLines {
  readonly lines: string[] = [''];
  size = 0;
  private readonly startStyles = new Map<number, string>();
  /** The SGR codes open at the end of the last complete line. */
  private openStyle = '';

  /**
   * Adds a chunk that starts at byte `offset` of the log. Bytes already held are skipped (a stream
   * that resumed from an earlier offset); returns whether anything was added.
   */
  append(offset: number, text: string): boolean {
    let chunk = text;
    if (offset < this.size) {
      const bytes = encoder.encode(text);
      const skip = this.size - offset;
      if (skip >= bytes.length) return false;
      chunk = decoder.decode(bytes.subarray(skip));
    }
    if (chunk === '') return false;
    this.size = Math.max(this.size, offset) + byteLength(chunk);
    const parts = chunk.split('\n');
    const last = this.lines.length - 1;
    this.lines[last] = (this.lines[last] ?? '') + (parts[0] ?? '');
    for (let index = 1; index < parts.length; index++) {
      // The line before this one is complete: what it leaves open starts this one.
      const ended = this.lines.length - 1;
      this.openStyle = openSgr(this.openStyle, this.lines[ended] ?? '');
      if (this.openStyle !== '') this.startStyles.set(ended + 1, this.openStyle);
      this.lines.push(parts[index] ?? '');
    }
    return true;
  }

  /** The SGR codes in effect where line `index` (0-based) starts; '' for none. */
  startStyle(index: number): string {
    return this.startStyles.get(index) ?? '';
  }

  /** Lines to show: a log ending in a newline has no empty line after it. */
  get count(): number {
    const length = this.lines.length;
    return this.lines[length - 1] === '' ? length - 1 : length;
  }
}

// ESC [ params m, built from a string: the escape character is the point of the pattern.
const sgrPattern = new RegExp(`${'\u001b'}\\[([0-9;]*)m`, 'g');

/**
 * The SGR codes still in effect after `line`, given those in effect before it: everything since the
 * last reset (ESC[0m or ESC[m), in order, which the ANSI parser replays at the next line's start.
 */
export function openSgr(before: string, line: string): string {
  if (!line.includes('\u001b')) return before;
  let open = before;
  for (const match of line.matchAll(sgrPattern)) {
    // Split into codes, keeping 38/48's colour arguments (38;5;n, 38;2;r;g;b) with their code, so an
    // argument 0 is not taken for a reset.
    const params = (match[1] ?? '').split(';');
    const codes: string[] = [];
    for (let index = 0; index < params.length; index++) {
      const param = params[index] ?? '';
      if ((param === '38' || param === '48') && (params[index + 1] === '5' || params[index + 1] === '2')) {
        const take = params[index + 1] === '5' ? 3 : 5;
        codes.push(params.slice(index, index + take).join(';'));
        index += take - 1;
      } else {
        codes.push(param);
      }
    }
    const reset = codes.findLastIndex((code) => code === '0' || code === '');
    if (reset !== -1) open = '';
    const rest = codes.slice(reset + 1);
    if (rest.length > 0) open += `\u001b[${rest.join(';')}m`;
  }
  return open;
}

/**
 * What a terminal would show of a raw line: a carriage return in the middle (a progress bar redrawn)
 * leaves what came after the last one; a trailing one (CRLF) is dropped.
 */
export function visibleText(raw: string): string {
  const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  const carriage = line.lastIndexOf('\r');
  return carriage === -1 ? line : line.slice(carriage + 1);
}

/** A run of text with one style. */
export interface Segment {
  text: string;
  /** CSS colour values (rgb(…)), when the ANSI codes set them. */
  fg?: string;
  bg?: string;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
  strikethrough?: boolean;
  /** Part of a search match. */
  match?: boolean;
}

function colour(entry: AnserJsonEntry, which: 'fg' | 'bg'): string | undefined {
  const value = entry[`${which}_truecolor`] || entry[which];
  return value ? `rgb(${value})` : undefined;
}

/** Parses one line's ANSI SGR codes into styled segments; other escape codes are dropped. */
export function parseAnsi(line: string): Segment[] {
  if (!line.includes('\u001b')) return line === '' ? [] : [{ text: line }];
  const entries = Anser.ansiToJson(line, { json: true, remove_empty: true, use_classes: false });
  return entries.map((entry) => {
    const segment: Segment = { text: entry.content };
    const fg = colour(entry, 'fg');
    const bg = colour(entry, 'bg');
    if (fg) segment.fg = fg;
    if (bg) segment.bg = bg;
    for (const decoration of entry.decorations) {
      if (decoration === 'reverse') {
        segment.fg = bg ?? 'var(--log-bg)';
        segment.bg = fg ?? 'var(--log-fg)';
      } else if (decoration === 'bold' || decoration === 'dim' || decoration === 'italic' || decoration === 'underline' || decoration === 'strikethrough') {
        segment[decoration] = true;
      }
    }
    return segment;
  });
}

/** Segments of lines parsed lately: scrolling back and forth over a long log parses each once. */
export class SegmentCache {
  private readonly entries = new Map<string, Segment[]>();
  constructor(private readonly capacity = 2000) {}

  /** A line's segments; `startStyle` is the SGR codes open where it starts (LogLines.startStyle). */
  get(line: string, startStyle = ''): Segment[] {
    const key = startStyle === '' ? line : `${startStyle}\u0000${line}`;
    const hit = this.entries.get(key);
    if (hit) return hit;
    const parsed = parseAnsi(startStyle + visibleText(line));
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, parsed);
    return parsed;
  }
}

/** A line's text without its colour codes, as search sees it. */
function plainText(line: string): string {
  return parseAnsi(visibleText(line))
    .map((segment) => segment.text)
    .join('');
}

/** Indexes of the lines (0-based) containing `query`, ignoring case. */
export function searchLines(lines: readonly string[], count: number, query: string): number[] {
  const needle = query.toLowerCase();
  if (needle === '') return [];
  const found: number[] = [];
  for (let index = 0; index < count; index++) {
    const line = lines[index] ?? '';
    // Cheap test on the raw line first: most lines do not match, and need no ANSI parsing.
    if (!line.includes('\u001b')) {
      if (visibleText(line).toLowerCase().includes(needle)) found.push(index);
    } else if (plainText(line).toLowerCase().includes(needle)) {
      found.push(index);
    }
  }
  return found;
}

/** Splits segments so that every occurrence of `query` (ignoring case) is its own segment with `match`. */
export function markMatches(segments: readonly Segment[], query: string): Segment[] {
  const needle = query.toLowerCase();
  if (needle === '') return [...segments];
  const plain = segments
    .map((segment) => segment.text)
    .join('')
    .toLowerCase();
  const ranges: [number, number][] = [];
  for (let at = plain.indexOf(needle); at !== -1; at = plain.indexOf(needle, at + needle.length)) ranges.push([at, at + needle.length]);
  if (ranges.length === 0) return [...segments];
  const out: Segment[] = [];
  let position = 0;
  for (const segment of segments) {
    const start = position;
    const end = start + segment.text.length;
    position = end;
    let cursor = start;
    for (const [from, to] of ranges) {
      if (to <= cursor || from >= end) continue;
      const matchStart = Math.max(from, cursor);
      const matchEnd = Math.min(to, end);
      if (matchStart > cursor) out.push({ ...segment, text: segment.text.slice(cursor - start, matchStart - start) });
      out.push({ ...segment, text: segment.text.slice(matchStart - start, matchEnd - start), match: true });
      cursor = matchEnd;
    }
    if (cursor < end) out.push({ ...segment, text: segment.text.slice(cursor - start) });
  }
  return out;
}

/** A line link: `#L12` (one line) or `#L12-L20` (a range), 1-based; null for any other hash. */
export interface LineRange {
  first: number;
  last: number;
}

export function parseLineHash(hash: string): LineRange | null {
  const found = /^#?L(\d+)(?:-L?(\d+))?$/.exec(hash);
  if (!found) return null;
  const first = Number(found[1]);
  const last = found[2] === undefined ? first : Number(found[2]);
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last) || first < 1 || last < 1) return null;
  return first <= last ? { first, last } : { first: last, last: first };
}

export function lineHash(range: LineRange): string {
  return range.first === range.last ? `#L${range.first}` : `#L${range.first}-L${range.last}`;
}

/** The next (or previous) match after the current one, wrapping around; -1 without matches. */
export function stepMatch(current: number, total: number, direction: 1 | -1): number {
  if (total === 0) return -1;
  if (current < 0) return direction === 1 ? 0 : total - 1;
  return (current + direction + total) % total;
}
