// Issue 19's finish line, over GraphQL (and the asset upload route): create a lifecycle, cut a release
// with notes, an asset and a due date, watch it deploy to dev, approve prod, and see both
// environments' latest deployment be that release, with the story in the activity feed. Jobs are
// ended through the job service, as the agents' transport will.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCaller } from '../../src/auth/caller';
import { createApprovalRule } from '../../src/domain/approval-rules/service';
import { finishJob, markJobRunning } from '../../src/domain/jobs/service';
import { addMember } from '../../src/domain/memberships/service';
import { createOrganization } from '../../src/domain/organizations/service';
import { createProject } from '../../src/domain/projects/service';
import { publishPipelineEvents } from '../../src/domain/pipelines/publish';
import { globalId, graphqlHarness, type GraphQLHarness, type Identity } from '../support/graphql';
import { openSubscription } from '../support/graphql-subscriptions';

let h: GraphQLHarness;
let manager: Identity;
let approver: Identity;
let projectId: string;
let organizationId: string;

const rawId = (gid: string) => atob(gid).split(':')[1]!;

async function gql<T = Record<string, unknown>>(query: string, variables: Record<string, unknown>, as: Identity): Promise<T> {
  const result = await h.gql<T>(query, variables, { as });
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data!;
}

beforeAll(async () => {
  h = await graphqlHarness();
  const adminIdentity = await h.createUser({ admin: true });
  const admin = await loadCaller(h.db.http, {
    kind: 'user',
    userId: adminIdentity.id,
    username: adminIdentity.name,
    email: '',
    isAdmin: true,
    via: 'access_token',
  });
  [manager, approver] = await Promise.all([h.createUser(), h.createUser()]);
  const organization = await createOrganization(h.db.http, admin, { name: 'acme' });
  organizationId = organization.id;
  const project = await createProject(h.db.http, admin, { organizationId, name: 'web' });
  projectId = project.id;
  await addMember(h.db.http, admin, { organizationId, userId: manager.id, role: 'release_manager' });
  // An approver who may also deploy (the approval that releases a deployment makes its approver the deployer).
  await addMember(h.db.http, admin, { organizationId, userId: approver.id, role: 'developer' });
  const team = await h.db.http.execute<{ id: string }>(sql`insert into teams (organization_id, name) values (${organizationId}, 'sre') returning id`);
  await h.db.http.execute(sql`insert into team_members (team_id, user_id) values (${team.rows[0]!.id}, ${approver.id})`);
  await createApprovalRule(h.db.http, admin, { organizationId, name: 'prod-approvers', approvalsRequired: 1, principals: { teams: ['sre'] } });
});

const deployTemplate = `
variable "version" {
  type = string
}

stage "deploy" {
  task "roll_out" {
    action "exec_command" {
      command = "deploy \${var.version}"
    }
  }
}
`;

const lifecycleHcl = `
stage "dev" {
  deployment {
    environment = "dev"
  }
}

stage "prod" {
  pre {
    approval_rules = ["prn:approval_rule:acme/prod-approvers"]
  }
  deployment {
    environment = "prod"
  }
}
`;

/** Ends every queued job of the release's pipelines; returns the environments they deployed. */
async function endQueuedJobs(releaseId: string): Promise<string[]> {
  const jobs = await h.db.http.execute<{ id: string; environment_name: string }>(sql`
    select j.id, p.environment_name from jobs j join pipelines p on p.id = j.pipeline_id
    where p.release_id = ${releaseId} and j.status = 'QUEUED'`);
  for (const job of jobs.rows) {
    await markJobRunning(h.db.http, h.config, job.id);
    await finishJob(h.db.http, h.config, job.id, { status: 'FINISHED' });
  }
  return jobs.rows.map((job) => job.environment_name).sort();
}

describe('a release moved through its lifecycle, end to end', () => {
  it('deploys to dev when cut, to prod once approved, and both environments show it as their latest deployment', async () => {
    const project = globalId('Project', projectId);
    const { createPipelineTemplate } = await gql<{ createPipelineTemplate: { pipelineTemplate: { id: string } } }>(
      `mutation($project: ID!, $hcl: String!) { createPipelineTemplate(input: { projectId: $project, name: "deploy", versioned: true,
         semanticVersion: "1.0.0", hclData: $hcl }) { pipelineTemplate { id } } }`,
      { project, hcl: deployTemplate },
      manager,
    );
    const { createReleaseLifecycle } = await gql<{ createReleaseLifecycle: { releaseLifecycle: { id: string; environmentNames: string[] } } }>(
      `mutation($org: ID!, $hcl: String!) { createReleaseLifecycle(input: { organizationId: $org, name: "standard", versioned: true,
         semanticVersion: "1.0.0", hclData: $hcl }) { releaseLifecycle { id environmentNames } } }`,
      { org: globalId('Organization', organizationId), hcl: lifecycleHcl },
      manager,
    );
    expect(createReleaseLifecycle.releaseLifecycle.environmentNames).toEqual(['dev', 'prod']);

    // Cut the release: notes, a due date, the lifecycle; dev deploys at once.
    const due = new Date(Date.now() + 7 * 24 * 3600 * 1000).toISOString();
    const { createRelease } = await gql<{ createRelease: { release: { id: string; status: string; lifecyclePipeline: { id: string } | null } } }>(
      `mutation($project: ID!, $template: ID!, $lifecycle: ID!, $due: Time!) { createRelease(input: { projectId: $project, semanticVersion: "2.4.0",
         notes: "# 2.4.0\\n- faster checkout", dueDate: $due, pipelineTemplateId: $template, lifecycleId: $lifecycle,
         variables: [{ key: "version", value: "\\"2.4.0\\"" }] }) { release { id status lifecyclePipeline { id } } } }`,
      { project, template: createPipelineTemplate.pipelineTemplate.id, lifecycle: createReleaseLifecycle.releaseLifecycle.id, due },
      manager,
    );
    const release = createRelease.release;
    expect(release.status).toBe('IN_PROGRESS');
    expect(release.lifecyclePipeline).not.toBeNull();
    const releaseId = rawId(release.id);

    // Watch the release live: its lifecycle's and its deployments' events, from the first.
    const stream = await openSubscription<{ releaseEvents: { kind: string; pipelineId: string; payload: { status?: string } } }>(
      h,
      'subscription($id: ID!) { releaseEvents(releaseId: $id, afterEventId: "0") { kind pipelineId payload } }',
      { id: release.id },
      { as: manager },
    );

    // An asset, streamed over REST.
    const asset = new TextEncoder().encode('binary bits of 2.4.0');
    const upload = await h.request(`/api/v1/releases/${releaseId}/assets/app.tar.gz`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${manager.accessToken}`, 'content-type': 'application/gzip' },
      body: asset,
    });
    expect(upload.status).toBe(201);

    expect(await endQueuedJobs(releaseId)).toEqual(['dev']);

    // Prod waits for its approval: the approver finds it among their to-do items and approves.
    const todo = await gql<{ todoItems: { edges: { node: { kind: string; pipelineNode: { id: string; path: string } } }[] } }>(
      'query { todoItems(first: 10) { edges { node { kind pipelineNode { id path } } } } }',
      {},
      approver,
    );
    const item = todo.todoItems.edges.map((edge) => edge.node).find((node) => node.kind === 'APPROVE');
    expect(item?.pipelineNode.path).toBe('stage.prod.pre');
    await gql('mutation($node: ID!) { approvePipelineNode(input: { nodeId: $node }) { pipelineNode { status } } }', { node: item!.pipelineNode.id }, approver);
    expect(await endQueuedJobs(releaseId)).toEqual(['prod']);

    // The subscriber saw the lifecycle succeed, and events of three pipelines (the lifecycle, dev, prod).
    await publishPipelineEvents(h.db.http, h.env.PROJECT_EVENT_HUB, projectId);
    const seen: { kind: string; pipelineId: string; payload: { status?: string } }[] = [];
    const lifecycle = release.lifecyclePipeline!.id;
    while (!seen.some((event) => event.kind === 'pipeline.status_changed' && event.pipelineId === lifecycle && event.payload.status === 'SUCCEEDED')) {
      const message = await stream.next(5000);
      expect(message?.errors).toBeUndefined();
      seen.push(message!.data!.releaseEvents);
    }
    await stream.close();
    expect(new Set(seen.map((event) => event.pipelineId)).size).toBe(3);

    // The release succeeded; both environments' latest deployment is this release.
    const picture = await gql<{
      release: { status: string; notes: string; dueState: string; assets: { name: string; size: number }[]; lifecyclePipeline: { status: string } };
      project: { environments: { name: string; latestDeployment: { status: string; release: { id: string } | null } | null }[] };
    }>(
      `query($release: ID!, $project: ID!) {
         release(id: $release) { status notes dueState assets { name size } lifecyclePipeline { status } }
         project(id: $project) { environments { name latestDeployment { status release { id } } } } }`,
      { release: release.id, project },
      manager,
    );
    expect(picture.release).toMatchObject({
      status: 'SUCCEEDED',
      notes: '# 2.4.0\n- faster checkout',
      dueState: 'NONE',
      lifecyclePipeline: { status: 'SUCCEEDED' },
    });
    expect(picture.release.assets).toEqual([{ name: 'app.tar.gz', size: asset.length }]);
    const latest = Object.fromEntries(picture.project.environments.map((environment) => [environment.name, environment.latestDeployment]));
    expect(latest).toEqual({ dev: { status: 'SUCCEEDED', release: { id: release.id } }, prod: { status: 'SUCCEEDED', release: { id: release.id } } });

    // The story, in the release's own activity feed (an unrelated pipeline of the project is not in it).
    const { createPipeline } = await gql<{ createPipeline: { pipeline: { id: string } } }>(
      `mutation($template: ID!) { createPipeline(input: { pipelineTemplateId: $template, type: RUNBOOK,
         variables: [{ key: "version", value: "\\"0\\"" }] }) { pipeline { id } } }`,
      { template: createPipelineTemplate.pipelineTemplate.id },
      manager,
    );
    const activity = await gql<{
      activityEvents: { edges: { node: { action: string; targetType: string; targetId: string | null; initiator: { name: string } } }[] };
    }>(
      'query($release: ID!) { activityEvents(releaseId: $release, first: 100) { edges { node { action targetType targetId initiator { name } } } } }',
      { release: release.id },
      manager,
    );
    expect(activity.activityEvents.edges.map(({ node }) => node.targetId)).not.toContain(createPipeline.pipeline.id);
    const steps = activity.activityEvents.edges.map(({ node }) => `${node.initiator.name} ${node.action} ${node.targetType}`);
    expect(steps).toEqual(
      expect.arrayContaining([
        `${manager.name} create release`,
        `${manager.name} upload_asset release`,
        `${manager.name} create pipeline`,
        `${approver.name} approve pipeline_node`,
      ]),
    );
    // Both deployments started on their own (prod's approval was its stage's `pre`, not the
    // deployment's own rule), so both are deployed as the release's creator.
    const deploys = steps.filter((step) => step.split(' ')[1] === 'deploy').map((step) => step.split(' ')[0]);
    expect(deploys).toEqual([manager.name, manager.name]);
  });
});
