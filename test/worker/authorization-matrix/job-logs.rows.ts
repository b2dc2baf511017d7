// Authorization rows of job logs. Viewers follow a log with pipeline:view in the job's project,
// which every built-in role holds (a project-only member through its project role too); a custom
// role with project:view alone sees the project, not its pipelines. Writing a log takes the job's
// own token, which no actor's credentials stand in for (job-logs.test.ts proves the token opens
// it, and that another job's token does not).
import { jobLogOf } from '../../../src/domain/job-logs/service';
import { globalId } from '../../support/graphql';
import { insertBarePipeline } from '../../support/pipeline-templates';
import { h, headersOf, inTenant, restOutcome, roles, same, subscriptionOutcome, tenant, type Actor, type Outcome, type Row } from './world';

const pipelineViewers = inTenant(['admin', ...roles, 'project_developer', 'service_account', 'scoped_key_in']);

let existing: Promise<string> | undefined;

/** A job of the tenant's project with some log already, so an allowed viewer's first message comes at once. */
function jobWithLog(): Promise<string> {
  existing ??= (async () => {
    const jobId = crypto.randomUUID();
    await insertBarePipeline(h.db.http, { organizationId: tenant.id, projectId: tenant.projectId }, crypto.randomUUID(), jobId);
    await jobLogOf(h.env, jobId).append(jobId, 0, new TextEncoder().encode('building\n'));
    return jobId;
  })();
  return existing;
}

async function followOutcome(actor: Actor): Promise<Outcome> {
  const jobId = await jobWithLog();
  const response = await h.request(`/api/v1/jobs/${jobId}/log/stream`, { headers: { ...headersOf(actor), upgrade: 'websocket' } });
  if (response.webSocket) {
    response.webSocket.accept();
    response.webSocket.close(1000);
  } else await response.body?.cancel();
  const byStatus: Record<number, Outcome> = { 101: 'ok', 401: 'UNAUTHENTICATED', 403: 'FORBIDDEN', 404: 'NOT_FOUND' };
  return byStatus[response.status] ?? `status ${response.status}`;
}

export const graphqlRows: Record<string, Row> = {
  'Subscription.jobLogStreamEvents': {
    run: async (a) =>
      subscriptionOutcome(a, 'subscription($input: JobLogStreamEventsInput!) { jobLogStreamEvents(input: $input) { size data { logs } } }', {
        input: { jobId: globalId('Job', await jobWithLog()) },
      }),
    expected: pipelineViewers,
  },
};

export const restRows: Record<string, Row> = {
  'PUT /agent/v1/jobs/:jobId/logs': {
    run: async (a) => restOutcome(a, 'PUT', `/agent/v1/jobs/${await jobWithLog()}/logs?offset=9`, 'more\n'),
    expected: same('UNAUTHENTICATED'),
  },
  'GET /api/v1/jobs/:jobId/log/stream': { run: followOutcome, expected: pipelineViewers },
};
