// A pipeline, node or job status as a badge: colour, a symbol and the word, so colour is never the
// only signal. Its width is reserved (min-width in pipeline.css) so a change never moves the layout.
import type { JSX } from 'solid-js';

const symbols: Record<string, string> = {
  SUCCEEDED: '✓',
  FINISHED: '✓',
  FAILED: '✕',
  CANCELED: '⊘',
  CANCELING: '⊘',
  RUNNING: '▶',
  PENDING: '▶',
  QUEUED: '⋯',
  READY: '⋯',
  APPROVAL_PENDING: '‖',
  WAITING: '‖',
  CREATED: '○',
  SKIPPED: '↷',
  DEFERRED: '↷',
};

/** APPROVAL_PENDING → "Approval pending". */
export function statusLabel(status: string): string {
  const words = status.toLowerCase().replaceAll('_', ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function StatusBadge(props: { status: string }): JSX.Element {
  return (
    <span class={`badge status-badge status-${props.status.toLowerCase()}`} data-status={props.status}>
      <span aria-hidden="true">{symbols[props.status] ?? '•'} </span>
      {statusLabel(props.status)}
    </span>
  );
}
