// Authorization rows of pipelines, their nodes and jobs, and to-do items. Reading needs pipeline:view
// (every built-in role; not the custom role holding project:view alone);
// creating, starting, retrying, deferring and canceling need pipeline:execute (developers and up, a
// project-only developer in its project); approving needs a principal of the node's approval rule —
// here one naming the owner, the developer, the team `developers` and the tenant's service account —
// whatever its role. Each row runs on a pipeline of its own, created by the admin.
import { createApprovalRule } from '../../../src/domain/approval-rules/service';
import { finishJob, markJobRunning } from '../../../src/domain/jobs/service';
import { createPipeline, listPipelineJobs, listPipelineNodes } from '../../../src/domain/pipelines/service';
import { globalId } from '../../support/graphql';
import { storeTemplate, template } from '../../support/pipeline-templates';
import { actors, adminCaller, graphqlOutcome, h, headersOf, inTenant, tenant, unique, users, type Actor, type Outcome, type Row } from './world';

const runners = inTenant(['admin', 'owner', 'release_manager', 'developer', 'project_developer', 'scoped_key_in']);
const approvers: Actor[] = ['owner', 'developer', 'service_account', 'scoped_key_in'];

let templateId: Promise<string> | undefined;

function tenantTemplate(): Promise<string> {
  templateId ??= (async () => {
    const rule = await createApprovalRule(h.db.http, adminCaller, {
      organizationId: tenant.id,
      name: unique('pipeline-approvers'),
      // Two, so one approval leaves the node waiting (and revocable).
      approvalsRequired: 2,
      principals: { userIds: [users.owner.id, users.developer.id], teams: ['developers'], serviceAccountIds: [tenant.serviceAccountId] },
    });
    return storeTemplate(
      h.db.http,
      { organizationId: tenant.id, projectId: tenant.projectId },
      template({
        stages: [
          {
            name: 'release',
            tasks: [
              { name: 'gate', approvalRules: [rule.prn], actions: [{ alias: 'a' }] },
              { name: 'manual', when: 'manual', actions: [{ alias: 'a' }] },
              { name: 'work', actions: [{ alias: 'a' }] },
            ],
          },
        ],
      }),
    );
  })();
  return templateId;
}

/** A fresh pipeline of the tenant: its id and its nodes' ids by task name. */
async function newPipeline(): Promise<{ id: string; tasks: Record<string, string> }> {
  const pipeline = await createPipeline(h.db.http, h.config, adminCaller, { pipelineTemplateId: await tenantTemplate(), type: 'RUNBOOK' });
  const nodes = await listPipelineNodes(h.db.http, adminCaller, pipeline.id);
  return { id: pipeline.id, tasks: Object.fromEntries(nodes.map((node) => [node.name, node.id])) };
}

const nodeMutation = (name: string, a: Actor, nodeId: string) => {
  const inputType = `${name.charAt(0).toUpperCase()}${name.slice(1)}Input`;
  return graphqlOutcome(a, `mutation($input: ${inputType}!) { ${name}(input: $input) { pipelineNode { id } } }`, {
    input: { nodeId: globalId('PipelineTask', nodeId) },
  });
};

/** Whether the caller has any to-do item: everyone authenticated may ask, and sees only its own. */
async function todoOutcome(actor: Actor): Promise<Outcome> {
  await newPipeline();
  const result = await h.gql<{ todoItems: { totalCount: number } }>('{ todoItems(first: 1) { totalCount } }', {}, { headers: headersOf(actor) });
  const code = result.errors?.[0]?.extensions?.code;
  if (code) return code as Outcome;
  return result.data!.todoItems.totalCount > 0 ? 'ok' : 'null';
}

/** GraphQL operations by `Query.field` / `Mutation.field`. */
export const graphqlRows: Record<string, Row> = {
  'Query.pipeline': {
    run: async (a) =>
      graphqlOutcome(a, 'query($id: ID!) { pipeline(id: $id) { id stages { tasks { id } } } }', { id: globalId('Pipeline', (await newPipeline()).id) }),
    // pipeline:view: every built-in role of the organization, the project's own members; not the custom
    // role with project:view alone (it sees the project: FORBIDDEN).
    expected: inTenant(['admin', 'owner', 'release_manager', 'developer', 'viewer', 'project_developer', 'service_account', 'scoped_key_in']),
  },
  'Query.job': {
    run: async (a) => {
      const [job] = await listPipelineJobs(h.db.http, adminCaller, (await newPipeline()).id);
      return graphqlOutcome(a, 'query($id: ID!) { job(id: $id) { id status } }', { id: globalId('Job', job!.id) });
    },
    expected: inTenant(['admin', 'owner', 'release_manager', 'developer', 'viewer', 'project_developer', 'service_account', 'scoped_key_in']),
  },
  'Query.todoItems': {
    run: todoOutcome,
    // Manual starts for those who may run pipelines; the gate's approval for the rule's principals
    // (the service account, a viewer, approves). Nothing for the rest, nor for other tenants.
    expected: {
      ...Object.fromEntries(actors.map((actor) => [actor, 'null'])),
      ...Object.fromEntries(
        ['admin', 'owner', 'release_manager', 'developer', 'team_developer', 'project_developer', 'service_account', 'scoped_key_in'].map((actor) => [
          actor,
          'ok',
        ]),
      ),
      anonymous: 'UNAUTHENTICATED',
    } as Record<Actor, Outcome>,
  },
  'Mutation.createPipeline': {
    run: async (a) =>
      graphqlOutcome(a, 'mutation($input: CreatePipelineInput!) { createPipeline(input: $input) { pipeline { id } } }', {
        input: { pipelineTemplateId: globalId('PipelineTemplate', await tenantTemplate()), type: 'RUNBOOK' },
      }),
    expected: runners,
  },
  'Mutation.approvePipelineNode': {
    run: async (a) => nodeMutation('approvePipelineNode', a, (await newPipeline()).tasks.gate!),
    // The rule decides, not the role: the admin sees the pipeline and is FORBIDDEN.
    expected: inTenant(approvers),
  },
  'Mutation.revokePipelineNodeApproval': {
    run: async (a) => {
      const pipeline = await newPipeline();
      await nodeMutation('approvePipelineNode', a, pipeline.tasks.gate!);
      return nodeMutation('revokePipelineNodeApproval', a, pipeline.tasks.gate!);
    },
    // Only one's own approval is revoked: who could not approve has none to revoke (the custom role
    // may not read pipelines at all).
    expected: {
      ...inTenant(approvers),
      admin: 'NOT_FOUND',
      release_manager: 'NOT_FOUND',
      viewer: 'NOT_FOUND',
      project_developer: 'NOT_FOUND',
    },
  },
  'Mutation.startPipelineNode': {
    run: async (a) => nodeMutation('startPipelineNode', a, (await newPipeline()).tasks.manual!),
    expected: runners,
  },
  'Mutation.retryPipelineTask': {
    run: async (a) => {
      const pipeline = await newPipeline();
      const [job] = (await listPipelineJobs(h.db.http, adminCaller, pipeline.id)).filter((item) => item.nodeId === pipeline.tasks.work);
      await markJobRunning(h.db.http, h.config, job!.id);
      await finishJob(h.db.http, h.config, job!.id, { status: 'FAILED' });
      return nodeMutation('retryPipelineTask', a, pipeline.tasks.work!);
    },
    expected: runners,
  },
  'Mutation.deferPipelineNode': {
    run: async (a) => nodeMutation('deferPipelineNode', a, (await newPipeline()).tasks.manual!),
    expected: runners,
  },
  'Mutation.cancelPipeline': {
    run: async (a) =>
      graphqlOutcome(a, 'mutation($input: CancelPipelineInput!) { cancelPipeline(input: $input) { pipeline { id } } }', {
        input: { pipelineId: globalId('Pipeline', (await newPipeline()).id) },
      }),
    expected: runners,
  },
};

/** No REST routes: pipelines are GraphQL only. */
export const restRows: Record<string, Row> = {};
