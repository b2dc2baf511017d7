// Release lifecycles on the pipeline engine: a RELEASE_LIFECYCLE pipeline whose stages run `pre`
// (approvals, gates), then the stage's deployments (each a DEPLOYMENT pipeline, after the
// environment gatekeeper), then `post`; lifecycles built in code (test/support/lifecycle-models.ts).
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCaller } from '../../src/auth/caller';
import type { Caller } from '../../src/auth/rbac';
import { createApprovalRule } from '../../src/domain/approval-rules/service';
import { createProtectionRule } from '../../src/domain/environments/protection-rules';
import { finishJob, markJobRunning } from '../../src/domain/jobs/service';
import { addMember } from '../../src/domain/memberships/service';
import { deploymentsOfRelease, environmentDeployments, latestDeployments } from '../../src/domain/pipelines/deployments';
import { createReleaseLifecyclePipeline, type CreateReleaseLifecyclePipelineInput } from '../../src/domain/pipelines/release-lifecycle';
import { approveNode, cancelPipeline, getPipeline, listPipelineJobs, listPipelineNodes, retryTask } from '../../src/domain/pipelines/service';
import { advanceDueNodes } from '../../src/domain/pipelines/sweep';
import type { AppError } from '../../src/errors';
import { globalId, type Identity } from '../support/graphql';
import { lifecycle, type LifecycleStageSpec } from '../support/lifecycle-models';
import { eq as equals, lit, ref, storeTemplate, str, template } from '../support/pipeline-templates';
import { pipelineWorld, type PipelineWorld } from '../support/pipeline-world';

let w: PipelineWorld;
/** Release managers in the team `release` (they may deploy); `rm` also signs in over GraphQL. */
let managers: { identity: Identity; caller: Caller }[];
/** Approval rules: the team `release`, one approval; both managers by name, two approvals. */
let oneApproval: string;
let twoApprovals: string;
/** Deploys `var.version` (required); `otherTemplateId` does the same under another name. */
let deployTemplateId: string;
let otherTemplateId: string;

const deployTemplate = (stage: string) =>
  template({
    variables: [{ name: 'version' }],
    stages: [{ name: stage, tasks: [{ name: 'push', actions: [{ alias: 'push', inputs: { command: str('deploy ', ref('var.version')) } }] }] }],
  });

beforeAll(async () => {
  w = await pipelineWorld();
  const team = await w.db.execute<{ id: string }>(sql`insert into teams (organization_id, name) values (${w.organizationId}, 'release') returning id`);
  managers = [];
  for (let index = 0; index < 2; index += 1) {
    const identity = await w.h.createUser();
    await addMember(w.db, w.admin, { organizationId: w.organizationId, userId: identity.id, role: 'release_manager' });
    await w.db.execute(sql`insert into team_members (team_id, user_id) values (${team.rows[0]!.id}, ${identity.id})`);
    const caller = await loadCaller(w.db, { kind: 'user', userId: identity.id, username: identity.name, email: '', isAdmin: false, via: 'access_token' });
    managers.push({ identity, caller });
  }
  oneApproval = (
    await createApprovalRule(w.db, w.admin, { organizationId: w.organizationId, name: 'release-one', approvalsRequired: 1, principals: { teams: ['release'] } })
  ).prn;
  // A team counts as one principal: two approvals need two principals named.
  twoApprovals = (
    await createApprovalRule(w.db, w.admin, {
      organizationId: w.organizationId,
      name: 'release-two',
      approvalsRequired: 2,
      principals: { userIds: managers.map((manager) => manager.identity.id) },
    })
  ).prn;
  deployTemplateId = await storeTemplate(w.db, w, deployTemplate('deploy'));
  otherTemplateId = await storeTemplate(w.db, w, deployTemplate('rollout'));
});

async function startLifecycle(stages: LifecycleStageSpec[], options: Partial<CreateReleaseLifecyclePipelineInput> = {}) {
  const releaseId = crypto.randomUUID();
  const pipeline = await createReleaseLifecyclePipeline(w.db, w.config, w.owner, {
    projectId: w.projectId,
    releaseId,
    lifecycle: lifecycle({ stages }),
    templateFor: { defaultTemplateId: deployTemplateId },
    variables: { version: '1.4.2' },
    ...options,
  });
  return { releaseId, pipeline };
}

async function statuses(pipelineId: string): Promise<Record<string, string>> {
  return Object.fromEntries((await listPipelineNodes(w.db, w.owner, pipelineId)).map((node) => [node.path, node.status]));
}

async function node(pipelineId: string, path: string) {
  const found = (await listPipelineNodes(w.db, w.owner, pipelineId)).find((item) => item.path === path);
  if (!found) throw new Error(`no node ${path}`);
  return found;
}

/** The DEPLOYMENT pipeline the deployment node runs now. */
async function deploymentOf(lifecycleId: string, environment: string) {
  const deployment = await node(lifecycleId, `stage.${stageOfEnvironment[environment] ?? environment}.deployment.${environment}`);
  if (!deployment.nestedPipelineId) throw new Error(`deployment ${environment} has not started`);
  return getPipeline(w.db, w.owner, deployment.nestedPipelineId);
}
const stageOfEnvironment: Record<string, string> = {};

/** Runs the pipeline's latest job to its end. */
async function completeLatestJob(
  pipelineId: string,
  status: 'FINISHED' | 'FAILED' = 'FINISHED',
  outputs?: Record<string, Record<string, unknown>>,
  now?: Date,
) {
  const job = (await listPipelineJobs(w.db, w.owner, pipelineId)).at(-1)!;
  await markJobRunning(w.db, w.config, job.id);
  return finishJob(w.db, w.config, job.id, { status, outputs }, now);
}

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    return error as AppError;
  }
  throw new Error('expected a rejection');
}

async function activity(targetId: string) {
  return (
    await w.db.execute<{ action: string; initiator_name: string; payload: Record<string, unknown> }>(
      sql`select action, initiator_name, payload from activity_events where target_id = ${targetId} order by created_at, id`,
    )
  ).rows;
}

async function nodeEvents(nodeId: string) {
  return (
    await w.db.execute<{ payload: Record<string, unknown> }>(
      sql`select payload from pipeline_events where kind = 'node.status_changed' and payload->>'nodeId' = ${nodeId} order by id`,
    )
  ).rows.map((row) => row.payload);
}

const smokeCheck = {
  name: 'smoke_check',
  actions: [{ alias: 'probe' }],
  gate: { attempts: 3, intervalSeconds: 120, successCondition: equals(ref('action_outputs.stage.prod.pre.task.smoke_check.action.probe.success'), lit(true)) },
};

describe('a two-stage lifecycle', () => {
  it('deploys to dev on creation, then to prod once the pre gate passes and the team approves', async () => {
    const { releaseId, pipeline } = await startLifecycle([
      { name: 'dev', deployments: [{ environment: 'dev' }] },
      { name: 'prod', pre: { tasks: [smokeCheck] }, deployments: [{ environment: 'prod', approvalRules: [oneApproval] }] },
    ]);
    expect(pipeline).toMatchObject({ type: 'RELEASE_LIFECYCLE', status: 'RUNNING', releaseId, pipelineTemplateId: null });
    expect(await statuses(pipeline.id)).toEqual({
      'stage.dev': 'RUNNING',
      'stage.dev.deployment.dev': 'RUNNING',
      'stage.prod.pre': 'CREATED',
      'stage.prod.pre.task.smoke_check': 'CREATED',
      'stage.prod': 'CREATED',
      'stage.prod.deployment.prod': 'CREATED',
    });
    const dev = await deploymentOf(pipeline.id, 'dev');
    expect(dev).toMatchObject({
      type: 'DEPLOYMENT',
      status: 'RUNNING',
      environmentName: 'dev',
      releaseId,
      parentPipelineId: pipeline.id,
      rootPipelineId: pipeline.id,
      pipelineTemplateId: deployTemplateId,
      variables: { version: '1.4.2' },
    });
    expect(dev.trigger.id).toBe(w.userId(w.owner));
    const environments = await w.db.execute(sql`select name from environments where project_id = ${w.projectId} and name = 'dev'`);
    expect(environments.rows).toHaveLength(1);

    await completeLatestJob(dev.id);
    expect(await statuses(pipeline.id)).toMatchObject({ 'stage.dev': 'SUCCEEDED', 'stage.prod.pre': 'RUNNING', 'stage.prod.pre.task.smoke_check': 'QUEUED' });

    // The gate fails its first attempt, waits its interval, passes on the second.
    const t0 = new Date();
    await completeLatestJob(pipeline.id, 'FINISHED', { probe: { success: false } }, t0);
    const waiting = await node(pipeline.id, 'stage.prod.pre.task.smoke_check');
    expect(waiting).toMatchObject({ status: 'RUNNING', attempts: 1 });
    expect(waiting.nextAttemptAt!.getTime()).toBe(t0.getTime() + 120_000);
    await advanceDueNodes(w.db, w.config, new Date(t0.getTime() + 60_000), { projectId: w.projectId });
    expect(await listPipelineJobs(w.db, w.owner, pipeline.id)).toHaveLength(1);
    expect(await advanceDueNodes(w.db, w.config, new Date(t0.getTime() + 120_001), { projectId: w.projectId })).toBe(1);
    expect(await node(pipeline.id, 'stage.prod.pre.task.smoke_check')).toMatchObject({ status: 'QUEUED', attempts: 2 });
    await completeLatestJob(pipeline.id, 'FINISHED', { probe: { success: true } });
    expect(await statuses(pipeline.id)).toMatchObject({
      'stage.prod.pre': 'SUCCEEDED',
      'stage.prod.pre.task.smoke_check': 'SUCCEEDED',
      'stage.prod': 'RUNNING',
      'stage.prod.deployment.prod': 'APPROVAL_PENDING',
    });

    // Someone outside the rule may not approve; a release manager of the team does, and is the deployer.
    const prodNode = await node(pipeline.id, 'stage.prod.deployment.prod');
    expect((await rejection(approveNode(w.db, w.config, w.owner, { nodeId: prodNode.id }))).code).toBe('FORBIDDEN');
    const [approver] = managers;
    expect(await approveNode(w.db, w.config, approver!.caller, { nodeId: prodNode.id })).toMatchObject({ status: 'RUNNING' });
    const prod = await deploymentOf(pipeline.id, 'prod');
    expect(prod).toMatchObject({ environmentName: 'prod', releaseId, status: 'RUNNING', trigger: { kind: 'user', id: approver!.identity.id } });
    await completeLatestJob(prod.id);
    expect((await getPipeline(w.db, w.owner, pipeline.id)).status).toBe('SUCCEEDED');

    // Every step in the activity log: the lifecycle created, the approval, each deployment started by its deployer.
    expect((await activity(pipeline.id)).map((row) => row.action)).toEqual(['create']);
    expect((await activity(prodNode.id)).map((row) => [row.action, row.initiator_name])).toEqual([['approve', approver!.identity.name]]);
    const [devDeploy] = await activity(dev.id);
    expect(devDeploy).toMatchObject({ action: 'deploy', payload: { releaseId, environmentName: 'dev', path: 'stage.dev.deployment.dev' } });
    expect(await activity(prod.id)).toEqual([
      expect.objectContaining({ action: 'deploy', initiator_name: approver!.identity.name, payload: expect.objectContaining({ environmentName: 'prod' }) }),
    ]);
    // The gate's attempts are in the lifecycle's events.
    const gateEvents = await w.db.execute(sql`select 1 from pipeline_events where kind = 'node.attempt_scheduled' and pipeline_id = ${pipeline.id}`);
    expect(gateEvents.rows).toHaveLength(1);

    // The release's deployments, and each environment's latest.
    const deployments = await deploymentsOfRelease(w.db, w.viewer, releaseId);
    expect(deployments.map((item) => [item.environmentName, item.status, item.lifecyclePipelineId])).toEqual([
      ['dev', 'SUCCEEDED', pipeline.id],
      ['prod', 'SUCCEEDED', pipeline.id],
    ]);
    expect(deployments[1]!.deployedBy.name).toBe(approver!.identity.name);
    expect(await deploymentsOfRelease(w.db, w.outsider, releaseId)).toEqual([]);

    // Over GraphQL: the lifecycle runs no template; its deployments are its stages' pipelines and
    // are listed with the project's pipelines like any deployment.
    const read = await w.h.gql<{
      pipeline: {
        type: string;
        pipelineTemplate: null;
        stages: { name: string; nestedPipelines: { childPipeline: { type: string; environmentName: string } }[] }[];
      };
      project: { pipelines: { edges: { node: { id: string } }[] } };
    }>(
      `query($id: ID!, $project: ID!) {
        pipeline(id: $id) { type pipelineTemplate { id } stages { name nestedPipelines { childPipeline { type environmentName } } } }
        project(id: $project) { pipelines(first: 10, types: [DEPLOYMENT], environmentName: "prod") { edges { node { id } } } }
      }`,
      { id: globalId('Pipeline', pipeline.id), project: globalId('Project', w.projectId) },
      { as: approver!.identity },
    );
    expect(read.errors).toBeUndefined();
    expect(read.data!.pipeline).toMatchObject({ type: 'RELEASE_LIFECYCLE', pipelineTemplate: null });
    expect(read.data!.pipeline.stages.map((stage) => [stage.name, stage.nestedPipelines.map((item) => item.childPipeline.environmentName)])).toEqual([
      ['dev', ['dev']],
      ['prod.pre', []],
      ['prod', ['prod']],
    ]);
    expect(read.data!.project.pipelines.edges.map((edge) => edge.node.id)).toContain(globalId('Pipeline', prod.id));
  });

  it('skips empty pre and post stages and runs post after the deployments', async () => {
    const { pipeline } = await startLifecycle([
      { name: 'qa', deployments: [{ environment: 'qa' }], post: { tasks: [{ name: 'notify', actions: [{ alias: 'n' }] }] } },
    ]);
    expect(Object.keys(await statuses(pipeline.id))).toEqual(['stage.qa', 'stage.qa.deployment.qa', 'stage.qa.post', 'stage.qa.post.task.notify']);
    await completeLatestJob((await deploymentOf(pipeline.id, 'qa')).id);
    expect(await statuses(pipeline.id)).toMatchObject({ 'stage.qa': 'SUCCEEDED', 'stage.qa.post.task.notify': 'QUEUED' });
    await completeLatestJob(pipeline.id);
    expect((await getPipeline(w.db, w.owner, pipeline.id)).status).toBe('SUCCEEDED');
  });
});

describe('templates per environment', () => {
  it('runs each deployment of a stage in parallel from the template chosen for its environment', async () => {
    const stages = [{ name: 'test', deployments: [{ environment: 'qa-1' }, { environment: 'staging-1' }] }];
    stageOfEnvironment['qa-1'] = 'test';
    stageOfEnvironment['staging-1'] = 'test';
    const { pipeline } = await startLifecycle(stages, {
      templateFor: { defaultTemplateId: deployTemplateId, perEnvironment: { 'staging-1': otherTemplateId } },
    });
    const qa = await deploymentOf(pipeline.id, 'qa-1');
    const staging = await deploymentOf(pipeline.id, 'staging-1');
    expect([qa.status, staging.status]).toEqual(['RUNNING', 'RUNNING']);
    expect(qa.pipelineTemplateId).toBe(deployTemplateId);
    expect(staging.pipelineTemplateId).toBe(otherTemplateId);

    const byFunction = await startLifecycle(stages, { templateFor: (environment) => (environment === 'qa-1' ? otherTemplateId : deployTemplateId) });
    expect((await deploymentOf(byFunction.pipeline.id, 'qa-1')).pipelineTemplateId).toBe(otherTemplateId);
    expect((await deploymentOf(byFunction.pipeline.id, 'staging-1')).pipelineTemplateId).toBe(deployTemplateId);
  });

  it('refuses a missing template, unknown or missing variables and a secret a template would store in the clear, writing nothing', async () => {
    const before = await w.db.execute(sql`select count(*)::int as n from pipelines where project_id = ${w.projectId}`);
    const stages = [{ name: 'dev', deployments: [{ environment: 'dev' }] }];
    const missing = await rejection(startLifecycle(stages, { templateFor: { defaultTemplateId: crypto.randomUUID() } }));
    expect(missing).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(missing.message).toContain('templates.dev');
    const unknown = await rejection(startLifecycle(stages, { variables: { version: '1', colour: 'red' } }));
    expect(unknown.message).toContain('variables.colour');
    const required = await rejection(startLifecycle(stages, { variables: {} }));
    expect(required.message).toContain('variables.version');
    const secret = lifecycle({ variables: [{ name: 'version', sensitive: true }], stages });
    const leak = await rejection(startLifecycle(stages, { lifecycle: secret }));
    expect(leak).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(leak.message).toContain('declares it plain');
    expect((await rejection(startLifecycle(stages, { lifecycle: lifecycle({ stages: [] }) }))).message).toContain('no stages');
    const viewer = await rejection(
      createReleaseLifecyclePipeline(w.db, w.config, w.viewer, {
        projectId: w.projectId,
        releaseId: crypto.randomUUID(),
        lifecycle: lifecycle({ stages }),
        templateFor: { defaultTemplateId: deployTemplateId },
        variables: { version: '1' },
      }),
    );
    expect(viewer.code).toBe('FORBIDDEN');
    const after = await w.db.execute(sql`select count(*)::int as n from pipelines where project_id = ${w.projectId}`);
    expect(after.rows).toEqual(before.rows);
  });
});

describe('release variables', () => {
  it('seal a sensitive value in the lifecycle and in the deployment that declares it, and give each deployment only its own', async () => {
    stageOfEnvironment['vault-1'] = 'vault';
    const secretTemplateId = await storeTemplate(
      w.db,
      w,
      template({
        variables: [{ name: 'token', sensitive: true }],
        stages: [{ name: 'deploy', tasks: [{ name: 'push', actions: [{ alias: 'push', inputs: { command: str('login ', ref('var.token')) } }] }] }],
      }),
    );
    const { pipeline } = await startLifecycle([{ name: 'vault', deployments: [{ environment: 'vault-1' }, { environment: 'plain-1' }] }], {
      templateFor: { defaultTemplateId: deployTemplateId, perEnvironment: { 'vault-1': secretTemplateId } },
      variables: { version: '2.0.0', token: 's3cr3t-value' },
    });
    stageOfEnvironment['plain-1'] = 'vault';
    expect(pipeline.sensitiveVariableNames).toEqual(['token']);
    expect(pipeline.variables).toEqual({ version: '2.0.0' });
    const vault = await deploymentOf(pipeline.id, 'vault-1');
    expect(vault.variables).toEqual({});
    expect(vault.sensitiveVariableNames).toEqual(['token']);
    expect((await deploymentOf(pipeline.id, 'plain-1')).variables).toEqual({ version: '2.0.0' });
    const stored = await w.db.execute(
      sql`select 1 from pipelines where root_pipeline_id = ${pipeline.id} and (variables::text like '%s3cr3t%' or sensitive_variables like '%s3cr3t%')`,
    );
    expect(stored.rows).toHaveLength(0);
  });
});

describe('a failed deployment', () => {
  it('fails its stage and stops later stages; retrying it runs a new DEPLOYMENT pipeline and the lifecycle goes on', async () => {
    stageOfEnvironment['int-1'] = 'int';
    stageOfEnvironment['live-1'] = 'live';
    const { releaseId, pipeline } = await startLifecycle([
      { name: 'int', deployments: [{ environment: 'int-1' }] },
      { name: 'live', deployments: [{ environment: 'live-1' }] },
    ]);
    const first = await deploymentOf(pipeline.id, 'int-1');
    await completeLatestJob(first.id, 'FAILED');
    expect(await statuses(pipeline.id)).toEqual({
      'stage.int': 'FAILED',
      'stage.int.deployment.int-1': 'FAILED',
      'stage.live': 'SKIPPED',
      'stage.live.deployment.live-1': 'CREATED',
    });
    expect((await getPipeline(w.db, w.owner, pipeline.id)).status).toBe('FAILED');

    // The failed deployment's own task is not retried in place: its lifecycle has moved on.
    const failedTask = (await listPipelineNodes(w.db, w.owner, first.id)).find((item) => item.kind === 'TASK')!;
    const inPlace = await rejection(retryTask(w.db, w.config, w.owner, { nodeId: failedTask.id }));
    expect(inPlace.code).toBe('CONFLICT');
    expect(inPlace.message).toContain('retry the deployment in its release lifecycle');

    const deploymentNode = await node(pipeline.id, 'stage.int.deployment.int-1');
    const [retrier] = managers;
    expect(await retryTask(w.db, w.config, retrier!.caller, { nodeId: deploymentNode.id })).toMatchObject({ status: 'RUNNING' });
    expect((await getPipeline(w.db, w.owner, pipeline.id)).status).toBe('RUNNING');
    const second = await deploymentOf(pipeline.id, 'int-1');
    expect(second.id).not.toBe(first.id);
    expect(second.trigger.id).toBe(retrier!.identity.id);
    expect((await rejection(retryTask(w.db, w.config, w.owner, { nodeId: deploymentNode.id }))).code).toBe('CONFLICT');
    await completeLatestJob(second.id);
    expect(await statuses(pipeline.id)).toMatchObject({ 'stage.int': 'SUCCEEDED', 'stage.live': 'RUNNING', 'stage.live.deployment.live-1': 'RUNNING' });
    await completeLatestJob((await deploymentOf(pipeline.id, 'live-1')).id);
    expect((await getPipeline(w.db, w.owner, pipeline.id)).status).toBe('SUCCEEDED');

    expect((await activity(deploymentNode.id)).map((row) => [row.action, row.initiator_name])).toEqual([['retry', retrier!.identity.name]]);
    expect((await deploymentsOfRelease(w.db, w.owner, releaseId)).map((item) => [item.environmentName, item.status])).toEqual([
      ['int-1', 'FAILED'],
      ['int-1', 'SUCCEEDED'],
      ['live-1', 'SUCCEEDED'],
    ]);
  });
});

describe('canceling a lifecycle', () => {
  it('cancels its running deployments with it', async () => {
    stageOfEnvironment['stop-1'] = 'stop';
    const { pipeline } = await startLifecycle([{ name: 'stop', deployments: [{ environment: 'stop-1' }] }]);
    const deployment = await deploymentOf(pipeline.id, 'stop-1');
    expect((await cancelPipeline(w.db, w.config, w.owner, { pipelineId: pipeline.id })).status).toBe('CANCELED');
    expect((await getPipeline(w.db, w.owner, deployment.id)).status).toBe('CANCELED');
    expect(await statuses(pipeline.id)).toEqual({ 'stage.stop': 'CANCELED', 'stage.stop.deployment.stop-1': 'CANCELED' });
  });
});

describe('the environment gatekeeper', () => {
  it('fails the deployment node with the protection rule’s reason when it does not name the deployer', async () => {
    stageOfEnvironment['locked-1'] = 'locked';
    await createProtectionRule(w.db, w.admin, {
      projectId: w.projectId,
      environmentPattern: 'locked-*',
      principals: { userIds: [w.userId(w.directApprover)] },
    });
    const { pipeline } = await startLifecycle([{ name: 'locked', deployments: [{ environment: 'locked-1' }] }]);
    const refused = await node(pipeline.id, 'stage.locked.deployment.locked-1');
    expect(refused).toMatchObject({ status: 'FAILED', nestedPipelineId: null });
    expect((await getPipeline(w.db, w.owner, pipeline.id)).status).toBe('FAILED');
    const failed = (await nodeEvents(refused.id)).at(-1)!;
    expect(failed).toMatchObject({ status: 'FAILED', environmentName: 'locked-1' });
    expect(failed.reason).toContain('Environment locked-1 is protected by the rule for locked-*');
    expect(failed.reason).toContain('does not name user');
    const [logged] = await activity(refused.id);
    expect(logged).toMatchObject({ action: 'deploy_refused', payload: { environmentName: 'locked-1' } });
    const deployments = await w.db.execute(sql`select 1 from pipelines where parent_pipeline_id = ${pipeline.id}`);
    expect(deployments.rows).toHaveLength(0);
    const environment = await w.db.execute(sql`select 1 from environments where project_id = ${w.projectId} and name = 'locked-1'`);
    expect(environment.rows).toHaveLength(0);
  });
});

describe('concurrent approvals of a deployment', () => {
  it('start exactly one DEPLOYMENT pipeline when both approvals are needed', async () => {
    stageOfEnvironment['canary-1'] = 'canary';
    const { pipeline } = await startLifecycle([{ name: 'canary', deployments: [{ environment: 'canary-1', approvalRules: [twoApprovals] }] }]);
    const pending = await node(pipeline.id, 'stage.canary.deployment.canary-1');
    expect(pending.status).toBe('APPROVAL_PENDING');
    await Promise.all(managers.map((manager) => approveNode(w.db, w.config, manager.caller, { nodeId: pending.id })));
    const started = await w.db.execute(sql`select id from pipelines where parent_pipeline_id = ${pipeline.id} and type = 'DEPLOYMENT'`);
    expect(started.rows).toHaveLength(1);
    expect((await node(pipeline.id, 'stage.canary.deployment.canary-1')).status).toBe('RUNNING');
  });

  it('start exactly one when one approval is enough: the second is refused', async () => {
    stageOfEnvironment['canary-2'] = 'canary';
    const { pipeline } = await startLifecycle([{ name: 'canary', deployments: [{ environment: 'canary-2', approvalRules: [oneApproval] }] }]);
    const pending = await node(pipeline.id, 'stage.canary.deployment.canary-2');
    const results = await Promise.allSettled(managers.map((manager) => approveNode(w.db, w.config, manager.caller, { nodeId: pending.id })));
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((result) => result.status === 'rejected') as PromiseRejectedResult;
    expect((rejected.reason as AppError).code).toBe('CONFLICT');
    const started = await w.db.execute(sql`select id from pipelines where parent_pipeline_id = ${pipeline.id} and type = 'DEPLOYMENT'`);
    expect(started.rows).toHaveLength(1);
  });
});

describe('deployment history', () => {
  it('lists an environment’s deployments newest first and the latest completed one per environment', async () => {
    stageOfEnvironment['hist-1'] = 'hist';
    const releases: string[] = [];
    for (const outcome of ['FINISHED', 'FAILED', 'FINISHED'] as const) {
      const { releaseId, pipeline } = await startLifecycle([{ name: 'hist', deployments: [{ environment: 'hist-1' }] }]);
      releases.push(releaseId);
      await completeLatestJob((await deploymentOf(pipeline.id, 'hist-1')).id, outcome);
    }
    // One still running: not completed, so not the latest.
    const running = await startLifecycle([{ name: 'hist', deployments: [{ environment: 'hist-1' }] }]);

    const history = await environmentDeployments(w.db, w.viewer, { projectId: w.projectId, environmentName: 'hist-1' });
    expect(history.map((item) => [item.releaseId, item.status])).toEqual([
      [running.releaseId, 'RUNNING'],
      [releases[2], 'SUCCEEDED'],
      [releases[1], 'FAILED'],
      [releases[0], 'SUCCEEDED'],
    ]);
    expect(history[0]!.deployedBy).toMatchObject({ kind: 'user', id: w.userId(w.owner) });
    expect(
      await environmentDeployments(w.db, w.viewer, { projectId: w.projectId, environmentName: 'hist-1', limit: 1, before: history[0]!.createdAt }),
    ).toHaveLength(1);
    expect((await rejection(environmentDeployments(w.db, w.outsider, { projectId: w.projectId, environmentName: 'hist-1' }))).code).toMatch(
      /FORBIDDEN|NOT_FOUND/,
    );
    expect((await rejection(environmentDeployments(w.db, w.viewer, { projectId: w.projectId, environmentName: 'hist-1', limit: 0 }))).message).toContain(
      'limit',
    );

    const latest = await latestDeployments(w.db, w.viewer, w.projectId);
    expect(latest.get('hist-1')).toMatchObject({ releaseId: releases[2], status: 'SUCCEEDED' });
    expect(latest.get('locked-1')).toBeUndefined();
    expect([...(await latestDeployments(w.db, w.viewer, w.projectId, ['hist-1'])).keys()]).toEqual(['hist-1']);

    // The environments view shows the same, over GraphQL.
    const [manager] = managers;
    const result = await w.h.gql<{ project: { environments: { name: string; latestDeployment: { id: string; status: string } | null }[] } }>(
      'query($id: ID!) { project(id: $id) { environments { name latestDeployment { id status completedAt } } } }',
      { id: globalId('Project', w.projectId) },
      { as: manager!.identity },
    );
    expect(result.errors).toBeUndefined();
    const byName = new Map(result.data!.project.environments.map((environment) => [environment.name, environment.latestDeployment]));
    expect(byName.get('hist-1')).toMatchObject({ id: latest.get('hist-1')!.pipelineId, status: 'SUCCEEDED' });
    expect(byName.get('dev')).toMatchObject({ status: 'SUCCEEDED' });
  });
});
