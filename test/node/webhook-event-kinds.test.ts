// Which outbox rows a webhook hears of, and as what: one outbox row gives at most one webhook event.
import { describe, expect, it } from 'vitest';
import { webhookEventKindOf } from '../../src/domain/webhooks/event-kinds';

const pipeline = (pipelineType: 'DEPLOYMENT' | 'RUNBOOK' | 'NESTED' | 'RELEASE_LIFECYCLE', status: string, parentPipelineId: string | null = null) =>
  webhookEventKindOf({ kind: 'pipeline.status_changed', payload: { status }, pipelineType, parentPipelineId });
const node = (status: string) => webhookEventKindOf({ kind: 'node.status_changed', payload: { status }, pipelineType: 'RUNBOOK', parentPipelineId: null });

describe('webhookEventKindOf', () => {
  it('maps node and pipeline transitions to the documented kinds', () => {
    expect(node('APPROVAL_PENDING')).toBe('approval.requested');
    expect(node('WAITING')).toBe('task.waiting');
    expect(pipeline('DEPLOYMENT', 'RUNNING')).toBe('deployment.started');
    expect(pipeline('DEPLOYMENT', 'SUCCEEDED')).toBe('deployment.succeeded');
    expect(pipeline('DEPLOYMENT', 'FAILED')).toBe('deployment.failed');
    expect(pipeline('RUNBOOK', 'FAILED')).toBe('pipeline.failed');
    for (const status of ['SUCCEEDED', 'FAILED', 'CANCELED']) expect(pipeline('RELEASE_LIFECYCLE', status)).toBe('release.finished');
  });

  it('ignores everything else', () => {
    for (const status of ['READY', 'QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED']) expect(node(status)).toBeNull();
    expect(pipeline('DEPLOYMENT', 'WAITING')).toBeNull();
    expect(pipeline('DEPLOYMENT', 'CANCELED')).toBeNull();
    expect(pipeline('RUNBOOK', 'SUCCEEDED')).toBeNull();
    expect(pipeline('NESTED', 'FAILED', 'parent')).toBeNull();
    expect(pipeline('RELEASE_LIFECYCLE', 'RUNNING')).toBeNull();
    for (const kind of ['job.status_changed', 'approval.created', 'pipeline.created', 'pipeline.held']) {
      expect(webhookEventKindOf({ kind, payload: { status: 'FAILED' }, pipelineType: 'DEPLOYMENT', parentPipelineId: null })).toBeNull();
    }
  });
});
