// Authorization rows of the pipeline event subscriptions: pipeline:view in the project, which every
// built-in role holds (a project-only member through its project role too); a custom role with
// project:view alone sees the project, not its pipelines. Each allowed subscription resumes just
// before an existing event, so its first message arrives at once.
import { appendPipelineEvents } from '../../../src/domain/pipelines/outbox';
import { globalId } from '../../support/graphql';
import { sharedRelease } from './releases.rows';
import { insertBarePipeline } from '../../support/pipeline-templates';
import { h, inTenant, roles, subscriptionOutcome, tenant, type Row } from './world';

const pipelineViewers = inTenant(['admin', ...roles, 'project_developer', 'service_account', 'scoped_key_in']);

let releaseEvent: ReturnType<typeof appendPipelineEvents> | undefined;
let existing: Promise<{ pipelineId: string; jobId: string; before: string }> | undefined;

/** One event of a pipeline and job of the tenant's project, and the id just before it. */
function existingEvent() {
  existing ??= (async () => {
    const pipelineId = crypto.randomUUID();
    const jobId = crypto.randomUUID();
    await insertBarePipeline(h.db.http, { organizationId: tenant.id, projectId: tenant.projectId }, pipelineId, jobId);
    const [event] = await appendPipelineEvents(h.db.http, { organizationId: tenant.id, projectId: tenant.projectId }, [
      { kind: 'job.queued', pipelineId, jobId },
    ]);
    return { pipelineId, jobId, before: String(event!.id - 1) };
  })();
  return existing;
}

/** GraphQL operations by `Subscription.field`. */
export const graphqlRows: Record<string, Row> = {
  'Subscription.projectEvents': {
    run: async (a) => {
      const { before } = await existingEvent();
      return subscriptionOutcome(a, 'subscription($id: ID!, $after: String) { projectEvents(projectId: $id, afterEventId: $after) { id } }', {
        id: globalId('Project', tenant.projectId),
        after: before,
      });
    },
    expected: pipelineViewers,
  },
  'Subscription.pipelineEvents': {
    run: async (a) => {
      const { pipelineId, before } = await existingEvent();
      return subscriptionOutcome(a, 'subscription($id: ID!, $after: String) { pipelineEvents(pipelineId: $id, afterEventId: $after) { id } }', {
        id: globalId('Pipeline', pipelineId),
        after: before,
      });
    },
    expected: pipelineViewers,
  },
  'Subscription.releaseEvents': {
    run: async (a) => {
      const releaseId = await sharedRelease();
      releaseEvent ??= appendPipelineEvents(h.db.http, { organizationId: tenant.id, projectId: tenant.projectId }, [{ kind: 'pipeline.created', releaseId }]);
      const [event] = await releaseEvent;
      return subscriptionOutcome(a, 'subscription($id: ID!, $after: String) { releaseEvents(releaseId: $id, afterEventId: $after) { id } }', {
        id: globalId('Release', releaseId),
        after: String(event!.id - 1),
      });
    },
    expected: pipelineViewers,
  },
  'Subscription.jobEvents': {
    run: async (a) => {
      const { jobId, before } = await existingEvent();
      return subscriptionOutcome(a, 'subscription($id: ID!, $after: String) { jobEvents(jobId: $id, afterEventId: $after) { id } }', {
        id: globalId('Job', jobId),
        after: before,
      });
    },
    expected: pipelineViewers,
  },
};

export const restRows: Record<string, Row> = {};
