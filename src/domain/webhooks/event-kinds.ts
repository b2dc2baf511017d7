// The events a webhook may subscribe to, read off the engine's outbox (pipeline_events): the outbox
// records every transition in the engine's own words (`node.status_changed`, `pipeline.status_changed`);
// a webhook speaks of what people wait for. One outbox row gives at most one webhook event.
//
//   approval.requested    a task, stage or nested pipeline waits for approvals (node → APPROVAL_PENDING)
//   task.waiting          a manual task or nested pipeline waits for someone to start it (node → WAITING)
//   deployment.started    a DEPLOYMENT pipeline runs (→ RUNNING; again after a retry)
//   deployment.succeeded  a DEPLOYMENT pipeline ended SUCCEEDED
//   deployment.failed     a DEPLOYMENT pipeline ended FAILED
//   pipeline.failed       a top-level RUNBOOK pipeline ended FAILED (a nested one fails its parent; a
//                         deployment's failure is deployment.failed)
//   release.finished      a release's lifecycle pipeline ended (SUCCEEDED, FAILED or CANCELED)
import type { PipelineType } from '../pipelines/statuses';

export const webhookEventKinds = [
  'approval.requested',
  'task.waiting',
  'deployment.started',
  'deployment.succeeded',
  'deployment.failed',
  'pipeline.failed',
  'release.finished',
] as const;
export type WebhookEventKind = (typeof webhookEventKinds)[number];

/** What the mapping needs of an outbox row and its pipeline. */
export interface OutboxEventFacts {
  kind: string;
  payload: Record<string, unknown>;
  pipelineType: PipelineType | null;
  parentPipelineId: string | null;
}

/** The webhook event an outbox row is, or null when no webhook hears of it. */
export function webhookEventKindOf(event: OutboxEventFacts): WebhookEventKind | null {
  const status = event.payload.status;
  if (event.kind === 'node.status_changed') {
    if (status === 'APPROVAL_PENDING') return 'approval.requested';
    if (status === 'WAITING') return 'task.waiting';
    return null;
  }
  if (event.kind !== 'pipeline.status_changed') return null;
  if (event.pipelineType === 'DEPLOYMENT') {
    if (status === 'RUNNING') return 'deployment.started';
    if (status === 'SUCCEEDED') return 'deployment.succeeded';
    if (status === 'FAILED') return 'deployment.failed';
    return null;
  }
  if (event.pipelineType === 'RELEASE_LIFECYCLE') return status === 'SUCCEEDED' || status === 'FAILED' || status === 'CANCELED' ? 'release.finished' : null;
  if (event.pipelineType === 'RUNBOOK' && event.parentPipelineId === null && status === 'FAILED') return 'pipeline.failed';
  return null;
}
