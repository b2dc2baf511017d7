// A job log on screen: only the lines in view (and a few around them) are in the DOM, each one line
// high, so a 100,000-line log scrolls as smoothly as a short one. A line's ANSI codes are parsed when
// it first comes into view (cached); colours become inline styles on spans — text is never written
// as HTML. Line numbers are links (#L123); search matches are <mark>ed.
import { createVirtualizer } from '@tanstack/solid-virtual';
import { type Accessor, For, type JSX, Show, createEffect, createMemo, on } from 'solid-js';
import { type LineRange, type LogLines, type Segment, SegmentCache, markMatches } from './log-model';
import './log.css';

/** Every line is this tall (CSS --log-line-height matches), which makes positions arithmetic. */
export const LINE_HEIGHT = 20;

export interface LogViewProps {
  log: LogLines;
  /** Changes whenever `log` has grown: the view reads the lines again. */
  revision: Accessor<number>;
  query: Accessor<string>;
  /** Line indexes (0-based) that match the query. */
  matches: Accessor<number[]>;
  /** Index into `matches` of the current match, -1 for none. */
  currentMatch: Accessor<number>;
  /** The linked lines (1-based), highlighted. */
  selected: Accessor<LineRange | null>;
  /** A line number was clicked (1-based); `extend` with Shift held, to select a range. */
  onSelectLine: (line: number, extend: boolean) => void;
  follow: Accessor<boolean>;
  onFollowChange: (follow: boolean) => void;
  /** Bumped to scroll to the selected line again (a link followed, a match chosen). */
  scrollRequest?: Accessor<{ line: number } | null>;
  /** For tests: the scroller's height before layout (jsdom has none). */
  initialHeight?: number;
}

function style(segment: Segment): JSX.CSSProperties | undefined {
  if (!segment.fg && !segment.bg && !segment.bold && !segment.dim && !segment.italic && !segment.underline && !segment.strikethrough) return undefined;
  const css: JSX.CSSProperties = {};
  if (segment.fg) css.color = segment.fg;
  if (segment.bg) css['background-color'] = segment.bg;
  if (segment.bold) css['font-weight'] = 'bold';
  if (segment.dim) css.opacity = '0.7';
  if (segment.italic) css['font-style'] = 'italic';
  const lines = [segment.underline ? 'underline' : '', segment.strikethrough ? 'line-through' : ''].filter(Boolean).join(' ');
  if (lines) css['text-decoration'] = lines;
  return css;
}

export function LogView(props: LogViewProps): JSX.Element {
  let scroller: HTMLDivElement | undefined;
  const cache = new SegmentCache();
  const count = () => {
    props.revision();
    return props.log.count;
  };
  const virtualizer = createVirtualizer({
    get count() {
      return count();
    },
    getScrollElement: () => scroller ?? null,
    estimateSize: () => LINE_HEIGHT,
    overscan: 10,
    initialRect: { width: 800, height: props.initialHeight ?? 600 },
  });

  const matchSet = createMemo(() => new Set(props.matches()));
  const currentLine = () => props.matches()[props.currentMatch()] ?? -1;

  const scrollToLine = (index: number) => {
    if (!scroller) return;
    const height = scroller.clientHeight || props.initialHeight || 600;
    scroller.scrollTop = Math.max(0, index * LINE_HEIGHT - height / 3);
  };
  const scrollToEnd = () => {
    if (scroller) scroller.scrollTop = count() * LINE_HEIGHT;
  };

  // Following: new lines scroll into view.
  createEffect(
    on([props.revision, props.follow], ([, follow]) => {
      if (follow) queueMicrotask(scrollToEnd);
    }),
  );
  createEffect(
    on(
      () => props.scrollRequest?.(),
      (request) => {
        if (request) queueMicrotask(() => scrollToLine(request.line));
      },
    ),
  );

  const onScroll = () => {
    if (!scroller) return;
    const atBottom = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - LINE_HEIGHT;
    if (atBottom !== props.follow()) props.onFollowChange(atBottom);
  };

  const isSelected = (line: number) => {
    const range = props.selected();
    return range !== null && line >= range.first && line <= range.last;
  };

  return (
    <div class="log-scroller" ref={scroller} onScroll={onScroll} tabindex="0" role="log" aria-label="Job log" aria-live="off">
      <div class="log-lines" style={{ height: `${virtualizer.getTotalSize()}px` }}>
        <For each={virtualizer.getVirtualItems()}>
          {(item) => {
            const lineNumber = () => item.index + 1;
            const segments = () => {
              props.revision();
              const parsed = cache.get(props.log.lines[item.index] ?? '', props.log.startStyle(item.index));
              return matchSet().has(item.index) ? markMatches(parsed, props.query()) : parsed;
            };
            return (
              <div
                class="log-line"
                classList={{ selected: isSelected(lineNumber()), 'current-match': currentLine() === item.index }}
                style={{ transform: `translateY(${item.start}px)` }}
                data-line={lineNumber()}
              >
                <a
                  class="log-line-number"
                  href={`#L${lineNumber()}`}
                  id={`L${lineNumber()}`}
                  onClick={(event) => {
                    event.preventDefault();
                    props.onSelectLine(lineNumber(), event.shiftKey);
                  }}
                >
                  {lineNumber()}
                </a>
                <span class="log-line-text">
                  <For each={segments()}>
                    {(segment) => (
                      <Show when={segment.match} fallback={<span style={style(segment)}>{segment.text}</span>}>
                        <mark style={style(segment)}>{segment.text}</mark>
                      </Show>
                    )}
                  </For>
                </span>
              </div>
            );
          }}
        </For>
      </div>
    </div>
  );
}
