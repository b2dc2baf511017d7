// A release's due date as a banner: approaching (within the API's warning window) or passed. The
// API decides the state (dueState), so the console and the cron trigger's notices agree; words say
// it, not only colour.
import { type JSX, Show } from 'solid-js';
import { formatTime, fromNow } from '../ui/time';

export type DueState = 'APPROACHING' | 'OVERDUE' | 'NONE';

/** What the banner says, or null when there is nothing to warn about. */
export function dueMessage(state: DueState, dueDate: string | null | undefined, now = Date.now()): { label: string; detail: string } | null {
  if (!dueDate || state === 'NONE') return null;
  if (state === 'OVERDUE') return { label: 'Overdue', detail: `was due ${fromNow(dueDate, now)} (${formatTime(dueDate)})` };
  return { label: 'Due soon', detail: `due ${fromNow(dueDate, now)} (${formatTime(dueDate)})` };
}

export function DueBanner(props: { state: DueState; dueDate: string | null | undefined; compact?: boolean; now?: number }): JSX.Element {
  const message = () => dueMessage(props.state, props.dueDate, props.now);
  return (
    <Show when={message()}>
      {(shown) => (
        <p
          class="due-banner"
          classList={{ overdue: props.state === 'OVERDUE', approaching: props.state === 'APPROACHING', compact: props.compact }}
          role="status"
        >
          <strong>{shown().label}</strong>: {shown().detail}
        </p>
      )}
    </Show>
  );
}
