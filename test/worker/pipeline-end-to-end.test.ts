// The finish line, through GraphQL alone: upload an HCL template, start a deployment to a
// protected environment, approve it, watch it by subscription, and see every task reach a final
// state as its jobs end, with each step in the activity log. Jobs are driven through the job service
// (what the agents' transport will call), each end followed by the publish after commit that
// transport makes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finishJob, markJobRunning } from '../../src/domain/jobs/service';
import { publishPipelineEvents } from '../../src/domain/pipelines/publish';
import { globalId, graphqlHarness, type GraphQLHarness, type Identity } from '../support/graphql';
import { openSubscription, type OpenSubscription } from '../support/graphql-subscriptions';

let h: GraphQLHarness;
let admin: Identity;
let deployer: Identity;
let directApprover: Identity;
let teamApprover: Identity;
let developer: Identity;
let projectId: string;
const subscriptions: OpenSubscription<unknown>[] = [];

const rawId = (gid: string) => atob(gid).split(':')[1]!;

async function gql<T = Record<string, unknown>>(query: string, variables: Record<string, unknown>, as: Identity): Promise<T> {
  const result = await h.gql<T>(query, variables, { as });
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data!;
}

const hcl = `
variable "version" {
  type = string
}

plugin exec {}

stage "deploy" {
  task "rollout" {
    approval_rules = ["prn:approval_rule:acme/release-approvers"]
    action "exec_command" {
      alias   = "apply"
      command = "deploy --version \${var.version}"
    }
  }
  task "warm_cache" {
    action "exec_command" {
      command = "warm"
    }
  }
}

stage "verify" {
  task "smoke" {
    action "exec_command" {
      command = "check \${action_outputs.stage.deploy.task.rollout.action.apply.url}"
    }
  }
}
`;

beforeAll(async () => {
  h = await graphqlHarness();
  admin = await h.createUser({ admin: true });
  [deployer, directApprover, teamApprover, developer] = await Promise.all([h.createUser(), h.createUser(), h.createUser(), h.createUser()]);
  const { createOrganization } = await gql<{ createOrganization: { organization: { id: string } } }>(
    'mutation { createOrganization(input: { name: "acme" }) { organization { id } } }',
    {},
    admin,
  );
  const organizationId = createOrganization.organization.id;
  const { createProject } = await gql<{ createProject: { project: { id: string } } }>(
    'mutation($org: ID!) { createProject(input: { organizationId: $org, name: "web" }) { project { id } } }',
    { org: organizationId },
    admin,
  );
  projectId = createProject.project.id;
  for (const [member, role] of [
    [deployer, 'release_manager'],
    [directApprover, 'viewer'],
    [teamApprover, 'viewer'],
    [developer, 'developer'],
  ] as const) {
    await gql(
      'mutation($org: ID!, $user: ID!, $role: String!) { addOrganizationMember(input: { organizationId: $org, userId: $user, role: $role }) { membership { id } } }',
      { org: organizationId, user: globalId('User', member.id), role },
      admin,
    );
  }
  const { createTeam } = await gql<{ createTeam: { team: { id: string } } }>(
    'mutation($org: ID!) { createTeam(input: { organizationId: $org, name: "sre" }) { team { id } } }',
    { org: organizationId },
    admin,
  );
  await gql(
    'mutation($team: ID!, $user: ID!) { addTeamMember(input: { teamId: $team, userId: $user }) { member { isMaintainer } } }',
    { team: createTeam.team.id, user: globalId('User', teamApprover.id) },
    admin,
  );
  await gql(
    `mutation($org: ID!, $user: ID!) { createApprovalRule(input: { organizationId: $org, name: "release-approvers", approvalsRequired: 2,
       principals: { teams: ["sre"], userIds: [$user] } }) { approvalRule { id } } }`,
    { org: organizationId, user: globalId('User', directApprover.id) },
    admin,
  );
  await gql(
    `mutation($project: ID!, $user: ID!) { createEnvironmentProtectionRule(input: { projectId: $project, environmentPattern: "prod",
       principals: { userIds: [$user] } }) { environmentProtectionRule { id } } }`,
    { project: projectId, user: globalId('User', deployer.id) },
    admin,
  );
});

afterAll(async () => {
  await Promise.all(subscriptions.map((subscription) => subscription.close()));
});

interface WatchedEvent {
  id: string;
  kind: string;
  payload: { status?: string; path?: string };
}

/** Reads the subscription until `done` holds for an event; returns every event read. */
async function watchUntil(stream: OpenSubscription<{ pipelineEvents: WatchedEvent }>, done: (event: WatchedEvent) => boolean): Promise<WatchedEvent[]> {
  const seen: WatchedEvent[] = [];
  for (;;) {
    const message = await stream.next(5000);
    expect(message?.errors).toBeUndefined();
    const event = message?.data?.pipelineEvents;
    if (!event) throw new Error(`the stream ended after ${seen.length} events`);
    seen.push(event);
    if (done(event)) return seen;
  }
}

describe('a deployment from an uploaded HCL template, end to end over GraphQL', () => {
  it('is uploaded, gated by protection and approvals, watched live, and driven to SUCCEEDED by its jobs, all in the activity log', async () => {
    // 1. Upload the template.
    const { createPipelineTemplate } = await gql<{ createPipelineTemplate: { pipelineTemplate: { id: string; latest: boolean } } }>(
      `mutation($project: ID!, $hcl: String!) { createPipelineTemplate(input: { projectId: $project, name: "deploy", versioned: true,
         semanticVersion: "1.0.0", hclData: $hcl }) { pipelineTemplate { id latest } } }`,
      { project: projectId, hcl },
      deployer,
    );
    expect(createPipelineTemplate.pipelineTemplate.latest).toBe(true);
    const templateId = createPipelineTemplate.pipelineTemplate.id;

    // 2. The protected environment refuses someone its rule does not name, though a developer may run pipelines.
    const createDeployment = `mutation($template: ID!) { createPipeline(input: { pipelineTemplateId: $template, type: DEPLOYMENT,
        environmentName: "prod", variables: [{ key: "version", value: "\\"2.4.0\\"" }] }) { pipeline { id status } } }`;
    const refused = await h.gql(createDeployment, { template: templateId }, { as: developer });
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(refused.errors?.[0]?.message).toContain('protected');

    // 3. The deployer it names starts the deployment; an approver watches it from the first event.
    const { createPipeline } = await gql<{ createPipeline: { pipeline: { id: string; status: string } } }>(
      createDeployment,
      { template: templateId },
      deployer,
    );
    const pipelineId = createPipeline.pipeline.id;
    expect(createPipeline.pipeline.status).toBe('RUNNING');
    const stream = await openSubscription<{ pipelineEvents: WatchedEvent }>(
      h,
      'subscription($id: ID!) { pipelineEvents(pipelineId: $id, afterEventId: "0") { id kind payload } }',
      { id: pipelineId },
      { as: directApprover },
    );
    subscriptions.push(stream as OpenSubscription<unknown>);
    const opening = await watchUntil(stream, (event) => event.kind === 'node.status_changed' && event.payload.path === 'stage.deploy.task.rollout');
    expect(opening[0]!.kind).toBe('pipeline.created');
    expect(opening.at(-1)!.payload.status).toBe('APPROVAL_PENDING');

    // 4. Both approvers see it in their to-do items and approve; the second approval queues its job.
    const todo = await gql<{ todoItems: { edges: { node: { kind: string; pipelineNode: { id: string; path: string } } }[] } }>(
      'query { todoItems(first: 10) { edges { node { kind pipelineNode { id path } } } } }',
      {},
      teamApprover,
    );
    const item = todo.todoItems.edges.map((edge) => edge.node).find((node) => node.pipelineNode.path === 'stage.deploy.task.rollout');
    expect(item?.kind).toBe('APPROVE');
    const approve = 'mutation($node: ID!) { approvePipelineNode(input: { nodeId: $node }) { pipelineNode { status } } }';
    const first = await gql<{ approvePipelineNode: { pipelineNode: { status: string } } }>(approve, { node: item!.pipelineNode.id }, directApprover);
    expect(first.approvePipelineNode.pipelineNode.status).toBe('APPROVAL_PENDING');
    const second = await gql<{ approvePipelineNode: { pipelineNode: { status: string } } }>(approve, { node: item!.pipelineNode.id }, teamApprover);
    expect(second.approvePipelineNode.pipelineNode.status).toBe('QUEUED');

    // 5. Every queued job runs and finishes (as an agent would report it), until nothing is queued.
    const graph = `query($id: ID!) { pipeline(id: $id) { status jobs { id status task { path } } stages { name status tasks { path status } } } }`;
    interface Graph {
      pipeline: {
        status: string;
        jobs: { id: string; status: string; task: { path: string } }[];
        stages: { name: string; status: string; tasks: { path: string; status: string }[] }[];
      };
    }
    const ran: string[] = [];
    for (let round = 0; round < 5; round += 1) {
      const queued = (await gql<Graph>(graph, { id: pipelineId }, deployer)).pipeline.jobs.filter((job) => job.status === 'QUEUED');
      if (queued.length === 0) break;
      for (const job of queued) {
        await markJobRunning(h.db.http, h.config, rawId(job.id));
        await finishJob(h.db.http, h.config, rawId(job.id), { status: 'FINISHED', outputs: { apply: { url: 'https://web.example.com' } } });
        await publishPipelineEvents(h.db.http, h.env.PROJECT_EVENT_HUB, rawId(projectId));
        ran.push(job.task.path);
      }
    }
    expect(ran.sort()).toEqual(['stage.deploy.task.rollout', 'stage.deploy.task.warm_cache', 'stage.verify.task.smoke']);

    // 6. The subscriber saw the pipeline succeed, and every task on its way there.
    const rest = await watchUntil(stream, (event) => event.kind === 'pipeline.status_changed' && event.payload.status === 'SUCCEEDED');
    const succeeded = new Set(
      rest.filter((event) => event.kind === 'node.status_changed' && event.payload.status === 'SUCCEEDED').map((event) => event.payload.path),
    );
    expect([...succeeded].sort()).toEqual([
      'stage.deploy',
      'stage.deploy.task.rollout',
      'stage.deploy.task.warm_cache',
      'stage.verify',
      'stage.verify.task.smoke',
    ]);
    const ids = [...opening, ...rest].map((event) => Number(event.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);

    // 7. The graph agrees.
    const final = (await gql<Graph>(graph, { id: pipelineId }, deployer)).pipeline;
    expect(final.status).toBe('SUCCEEDED');
    expect(final.stages.flatMap((stage) => stage.tasks.map((task) => task.status))).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    expect(final.jobs.every((job) => job.status === 'FINISHED')).toBe(true);

    // 8. Each person's step is in the project's activity log.
    const activity = await gql<{ activityEvents: { edges: { node: { action: string; targetType: string; initiator: { name: string } } }[] } }>(
      'query($project: ID!) { activityEvents(projectId: $project, first: 50) { edges { node { action targetType initiator { name } } } } }',
      { project: projectId },
      admin,
    );
    const steps = activity.activityEvents.edges.map(({ node }) => `${node.initiator.name} ${node.action} ${node.targetType}`);
    expect(steps).toEqual(
      expect.arrayContaining([
        `${deployer.name} create pipeline_template`,
        `${deployer.name} create pipeline`,
        `${directApprover.name} approve pipeline_node`,
        `${teamApprover.name} approve pipeline_node`,
      ]),
    );
  });
});
