// The engine end to end against real Postgres: stages in order, parallel tasks, gates driven by the
// sweep, approvals, manual tasks, failure stages, nested pipelines, cancel, retries, deployments.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { finishJob, markJobRunning } from '../../src/domain/jobs/service';
import { openJson, jobInputsBinding } from '../../src/domain/pipelines/secrets';
import {
  approveNode,
  cancelPipeline,
  createPipeline,
  deferNode,
  getJob,
  getPipeline,
  listNodeApprovals,
  listProjectPipelines,
  listPipelineJobs,
  listPipelineNodes,
  retryTask,
  revokeApproval,
  startNode,
} from '../../src/domain/pipelines/service';
import { advanceDueNodes } from '../../src/domain/pipelines/sweep';
import { createProtectionRule } from '../../src/domain/environments/protection-rules';
import type { AppError } from '../../src/errors';
import { createLogger } from '../../src/platform/logger';
import { runScheduledTasks, scheduledTasks } from '../../src/scheduled/tasks';
import { eq as equals, lit, obj, ref, storeTemplate, str, template, type StageSpec } from '../support/pipeline-templates';
import { pipelineWorld, type PipelineWorld } from '../support/pipeline-world';

let w: PipelineWorld;

beforeAll(async () => {
  w = await pipelineWorld();
});

async function start(stages: StageSpec[], options: { variables?: Record<string, unknown>; declared?: Parameters<typeof template>[0]['variables'] } = {}) {
  const templateId = await storeTemplate(w.db, w, template({ stages, variables: options.declared, agentTags: ['linux'] }));
  return createPipeline(w.db, w.config, w.owner, { pipelineTemplateId: templateId, type: 'RUNBOOK', variables: options.variables });
}

async function statuses(pipelineId: string): Promise<Record<string, string>> {
  const nodes = await listPipelineNodes(w.db, w.owner, pipelineId);
  return Object.fromEntries(nodes.map((node) => [node.path, node.status]));
}

async function node(pipelineId: string, path: string) {
  const found = (await listPipelineNodes(w.db, w.owner, pipelineId)).find((item) => item.path === path);
  if (!found) throw new Error(`no node ${path}`);
  return found;
}

async function activeJob(pipelineId: string, path: string) {
  const target = await node(pipelineId, path);
  const jobs = (await listPipelineJobs(w.db, w.owner, pipelineId)).filter((job) => job.nodeId === target.id);
  return jobs.at(-1)!;
}

/** Runs the task's current job to its end. */
async function complete(pipelineId: string, path: string, status: 'FINISHED' | 'FAILED' = 'FINISHED', outputs?: Record<string, Record<string, unknown>>) {
  const job = await activeJob(pipelineId, path);
  await markJobRunning(w.db, w.config, job.id);
  return finishJob(w.db, w.config, job.id, { status, outputs });
}

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    return error as AppError;
  }
  throw new Error('expected a refusal');
}

describe('running stages and tasks', () => {
  it('runs stages in order and the tasks of a stage in parallel (a diamond), queuing jobs with evaluated inputs', async () => {
    const pipeline = await start(
      [
        { name: 'build', tasks: [{ name: 'compile', actions: [{ alias: 'out', inputs: { command: str('make ', ref('var.target')) } }] }] },
        {
          name: 'test',
          tasks: [
            { name: 'unit', actions: [{ alias: 'a' }], agentTags: ['big'] },
            { name: 'lint', actions: [{ alias: 'a', inputs: { artifact: ref('action_outputs.stage.build.task.compile.action.out.artifact') } }] },
          ],
        },
        { name: 'ship', tasks: [{ name: 'publish', actions: [{ alias: 'a' }] }, { name: 'note' }] },
      ],
      { declared: [{ name: 'target', type: 'string' }], variables: { target: 'all' } },
    );
    expect(pipeline.status).toBe('RUNNING');
    expect(await statuses(pipeline.id)).toEqual({
      'stage.build': 'RUNNING',
      'stage.build.task.compile': 'QUEUED',
      'stage.test': 'CREATED',
      'stage.test.task.unit': 'CREATED',
      'stage.test.task.lint': 'CREATED',
      'stage.ship': 'CREATED',
      'stage.ship.task.publish': 'CREATED',
      'stage.ship.task.note': 'CREATED',
    });
    const compile = await activeJob(pipeline.id, 'stage.build.task.compile');
    expect(compile).toMatchObject({ status: 'QUEUED', tags: ['linux'], attempt: 1, maxDurationSeconds: 3600 });
    expect(compile).not.toHaveProperty('inputs');
    const [sealed] = (await w.db.execute<{ inputs: string }>(sql`select inputs from jobs where id = ${compile.id}`)).rows;
    expect(await openJson(w.config, sealed!.inputs, jobInputsBinding(compile.id))).toEqual([
      { alias: 'out', name: 'exec_command', pluginName: 'exec', actionName: 'command', inputs: { command: 'make all' } },
    ]);

    await markJobRunning(w.db, w.config, compile.id);
    expect((await statuses(pipeline.id))['stage.build.task.compile']).toBe('RUNNING');
    await finishJob(w.db, w.config, compile.id, { status: 'FINISHED', outputs: { out: { artifact: 'app.tar' } } });
    let now = await statuses(pipeline.id);
    expect(now['stage.build']).toBe('SUCCEEDED');
    expect(now['stage.test.task.unit']).toBe('QUEUED');
    expect(now['stage.test.task.lint']).toBe('QUEUED');
    expect((await activeJob(pipeline.id, 'stage.test.task.unit')).tags).toEqual(['big']);
    const lint = await activeJob(pipeline.id, 'stage.test.task.lint');
    const [lintSealed] = (await w.db.execute<{ inputs: string }>(sql`select inputs from jobs where id = ${lint.id}`)).rows;
    expect((await openJson<{ inputs: unknown }[]>(w.config, lintSealed!.inputs, jobInputsBinding(lint.id)))[0]!.inputs).toEqual({ artifact: 'app.tar' });

    await complete(pipeline.id, 'stage.test.task.unit');
    now = await statuses(pipeline.id);
    expect(now['stage.test']).toBe('RUNNING');
    expect(now['stage.ship']).toBe('CREATED');
    await complete(pipeline.id, 'stage.test.task.lint');
    now = await statuses(pipeline.id);
    expect(now['stage.test']).toBe('SUCCEEDED');
    // A task without actions succeeds as it starts.
    expect(now['stage.ship.task.note']).toBe('SUCCEEDED');
    expect(now['stage.ship.task.publish']).toBe('QUEUED');
    await complete(pipeline.id, 'stage.ship.task.publish');
    const done = await getPipeline(w.db, w.owner, pipeline.id);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.completedAt).not.toBeNull();

    const events = await w.db.execute<{ kind: string; payload: Record<string, unknown> }>(
      sql`select kind, payload from pipeline_events where pipeline_id = ${pipeline.id} order by id`,
    );
    expect(events.rows[0]!.kind).toBe('pipeline.created');
    expect(events.rows.at(-1)).toMatchObject({ kind: 'pipeline.status_changed', payload: { status: 'SUCCEEDED' } });
    expect(JSON.stringify(events.rows)).not.toContain('make all');
  });

  it('refuses what the state machine does not allow, naming the node and its status', async () => {
    const pipeline = await start([{ name: 'only', tasks: [{ name: 'build', actions: [{ alias: 'a' }] }] }]);
    await complete(pipeline.id, 'stage.only.task.build');
    const build = await node(pipeline.id, 'stage.only.task.build');
    const error = await rejection(retryTask(w.db, w.config, w.owner, { nodeId: build.id }));
    expect(error.code).toBe('CONFLICT');
    expect(error.message).toBe('Cannot retry task build: it is SUCCEEDED');
    expect((await rejection(startNode(w.db, w.config, w.owner, { nodeId: build.id }))).message).toBe('Cannot start task build: it is SUCCEEDED');
    expect((await rejection(cancelPipeline(w.db, w.config, w.owner, { pipelineId: pipeline.id }))).message).toBe(
      `Cannot cancel pipeline ${pipeline.id}: it is SUCCEEDED`,
    );
    const job = await activeJob(pipeline.id, 'stage.only.task.build');
    expect((await rejection(finishJob(w.db, w.config, job.id, { status: 'FAILED' }))).message).toBe(`Cannot fail job ${job.id}: it is FINISHED`);
  });
});

describe('gates', () => {
  it('repeats a gate every interval until its success condition holds (third attempt), driven by the sweep', async () => {
    const condition = equals(ref('action_outputs.stage.check.task.probe.action.probe.healthy'), lit(true));
    const pipeline = await start([
      { name: 'check', tasks: [{ name: 'probe', actions: [{ alias: 'probe' }], gate: { attempts: 3, intervalSeconds: 120, successCondition: condition } }] },
    ]);
    const t0 = Date.now();
    for (const attempt of [1, 2]) {
      const job = await activeJob(pipeline.id, 'stage.check.task.probe');
      expect(job.attempt).toBe(attempt);
      await markJobRunning(w.db, w.config, job.id);
      await finishJob(w.db, w.config, job.id, { status: 'FINISHED', outputs: { probe: { healthy: false } } });
      const probe = await node(pipeline.id, 'stage.check.task.probe');
      expect(probe.status).toBe('RUNNING');
      expect(probe.nextAttemptAt!.getTime()).toBeGreaterThanOrEqual(t0 + 120_000);
      // Not due yet: nothing happens.
      await advanceDueNodes(w.db, w.config, new Date(t0));
      expect((await activeJob(pipeline.id, 'stage.check.task.probe')).attempt).toBe(attempt);
      expect(await advanceDueNodes(w.db, w.config, new Date(probe.nextAttemptAt!.getTime() + 1))).toBeGreaterThanOrEqual(1);
      expect((await node(pipeline.id, 'stage.check.task.probe')).status).toBe('QUEUED');
    }
    const third = await activeJob(pipeline.id, 'stage.check.task.probe');
    expect(third.attempt).toBe(3);
    await markJobRunning(w.db, w.config, third.id);
    await finishJob(w.db, w.config, third.id, { status: 'FINISHED', outputs: { probe: { healthy: true } } });
    expect((await node(pipeline.id, 'stage.check.task.probe')).status).toBe('SUCCEEDED');
    expect((await getPipeline(w.db, w.owner, pipeline.id)).status).toBe('SUCCEEDED');
  });

  it('is moved on by the cron task registered in the scheduled tasks', async () => {
    const condition = equals(ref('action_outputs.stage.check.task.probe.action.probe.healthy'), lit(true));
    const pipeline = await start([
      { name: 'check', tasks: [{ name: 'probe', actions: [{ alias: 'probe' }], gate: { attempts: 2, intervalSeconds: 30, successCondition: condition } }] },
    ]);
    await complete(pipeline.id, 'stage.check.task.probe', 'FINISHED', { probe: { healthy: false } });
    const due = (await node(pipeline.id, 'stage.check.task.probe')).nextAttemptAt!;
    const lines: string[] = [];
    const results = await runScheduledTasks(
      scheduledTasks.filter((task) => task.name === 'advance-due-nodes'),
      {
        env: w.h.env,
        config: w.h.config,
        logger: createLogger({ sink: (line) => lines.push(line) }),
        now: new Date(due.getTime() + 1000),
      },
    );
    expect(results).toEqual([{ name: 'advance-due-nodes', ok: true }]);
    expect((await activeJob(pipeline.id, 'stage.check.task.probe')).attempt).toBe(2);
    expect(lines.join('\n')).toContain('pipelines advanced');
  });

  it('cancels a gate waiting between attempts at once (no job to wait for); the sweep then leaves it alone', async () => {
    const condition = equals(ref('action_outputs.stage.check.task.probe.action.probe.healthy'), lit(true));
    const pipeline = await start([
      { name: 'check', tasks: [{ name: 'probe', actions: [{ alias: 'probe' }], gate: { attempts: 3, intervalSeconds: 30, successCondition: condition } }] },
    ]);
    await complete(pipeline.id, 'stage.check.task.probe', 'FINISHED', { probe: { healthy: false } });
    const due = (await node(pipeline.id, 'stage.check.task.probe')).nextAttemptAt!;
    expect((await cancelPipeline(w.db, w.config, w.owner, { pipelineId: pipeline.id })).status).toBe('CANCELED');
    const probe = await node(pipeline.id, 'stage.check.task.probe');
    expect(probe).toMatchObject({ status: 'CANCELED', nextAttemptAt: null });
    await advanceDueNodes(w.db, w.config, new Date(due.getTime() + 1000));
    expect(await listPipelineJobs(w.db, w.owner, pipeline.id)).toHaveLength(1);
  });

  it('fails a gate whose attempts are used up', async () => {
    const condition = equals(ref('action_outputs.stage.check.task.probe.action.probe.healthy'), lit(true));
    const pipeline = await start([
      { name: 'check', tasks: [{ name: 'probe', actions: [{ alias: 'probe' }], gate: { attempts: 1, intervalSeconds: 60, successCondition: condition } }] },
    ]);
    await complete(pipeline.id, 'stage.check.task.probe', 'FINISHED', { probe: { healthy: false } });
    expect((await node(pipeline.id, 'stage.check.task.probe')).status).toBe('FAILED');
    expect((await getPipeline(w.db, w.owner, pipeline.id)).status).toBe('FAILED');
  });
});

describe('approvals and manual nodes', () => {
  it('waits for the rule’s approvals (team principal), refuses a second approval by the same person and non-approvers, and lets approvals be revoked before the start', async () => {
    const rule = await w.approvalRule('two-sre', 2);
    const pipeline = await start([{ name: 'prod', tasks: [{ name: 'deploy', approvalRules: [rule], actions: [{ alias: 'a' }] }] }]);
    const deploy = await node(pipeline.id, 'stage.prod.task.deploy');
    expect(deploy.status).toBe('APPROVAL_PENDING');
    const [alice, bob, carol] = w.teamMembers as [typeof w.owner, typeof w.owner, typeof w.owner];

    const outsider = await rejection(approveNode(w.db, w.config, w.viewer, { nodeId: deploy.id }));
    expect(outsider.code).toBe('FORBIDDEN');
    expect(outsider.message).toBe('You are not an approver of task deploy');
    expect((await rejection(approveNode(w.db, w.config, w.outsider, { nodeId: deploy.id }))).code).toBe('NOT_FOUND');

    expect((await approveNode(w.db, w.config, alice, { nodeId: deploy.id })).status).toBe('APPROVAL_PENDING');
    const twice = await rejection(approveNode(w.db, w.config, alice, { nodeId: deploy.id }));
    expect(twice.code).toBe('CONFLICT');
    expect(twice.message).toContain('has already approved task deploy');

    await revokeApproval(w.db, w.config, alice, { nodeId: deploy.id });
    expect((await rejection(revokeApproval(w.db, w.config, alice, { nodeId: deploy.id }))).code).toBe('NOT_FOUND');
    await approveNode(w.db, w.config, bob, { nodeId: deploy.id });
    expect((await node(pipeline.id, 'stage.prod.task.deploy')).status).toBe('APPROVAL_PENDING');
    expect((await approveNode(w.db, w.config, carol, { nodeId: deploy.id })).status).toBe('QUEUED');
    const approvals = await listNodeApprovals(w.db, w.owner, deploy.id);
    expect(approvals.map((approval) => approval.revokedAt === null)).toEqual([false, true, true]);

    const late = await rejection(revokeApproval(w.db, w.config, bob, { nodeId: deploy.id }));
    expect(late.message).toBe('Cannot revoke the approval of task deploy: it is QUEUED');
    const activity = await w.db.execute<{ action: string }>(sql`select action from activity_events where target_id = ${deploy.id} order by created_at`);
    expect(activity.rows.map((row) => row.action)).toEqual(['approve', 'revoke_approval', 'approve', 'approve']);
  });

  it('waits for someone to start a manual task (pipeline:execute), and a manual task with approvals goes back to pending when one is revoked', async () => {
    const rule = await w.approvalRule('one-sre', 1);
    const pipeline = await start([
      {
        name: 'go',
        tasks: [
          { name: 'manual', when: 'manual', actions: [{ alias: 'a' }] },
          { name: 'gated', when: 'manual', approvalRules: [rule], actions: [{ alias: 'a' }] },
        ],
      },
    ]);
    const manual = await node(pipeline.id, 'stage.go.task.manual');
    expect(manual.status).toBe('WAITING');
    expect((await rejection(startNode(w.db, w.config, w.viewer, { nodeId: manual.id }))).code).toBe('FORBIDDEN');
    expect((await startNode(w.db, w.config, w.owner, { nodeId: manual.id })).status).toBe('QUEUED');

    const gated = await node(pipeline.id, 'stage.go.task.gated');
    expect(gated.status).toBe('APPROVAL_PENDING');
    expect((await rejection(startNode(w.db, w.config, w.owner, { nodeId: gated.id }))).message).toBe('Cannot start task gated: it is APPROVAL_PENDING');
    expect((await approveNode(w.db, w.config, w.directApprover, { nodeId: gated.id })).status).toBe('WAITING');
    expect((await revokeApproval(w.db, w.config, w.directApprover, { nodeId: gated.id })).status).toBe('APPROVAL_PENDING');
    await approveNode(w.db, w.config, w.teamMembers[0]!, { nodeId: gated.id });
    expect((await startNode(w.db, w.config, w.owner, { nodeId: gated.id })).status).toBe('QUEUED');
  });

  it('defers a node that has not started: it counts as done', async () => {
    const pipeline = await start([
      { name: 'go', tasks: [{ name: 'later', when: 'manual', actions: [{ alias: 'a' }] }] },
      { name: 'next', tasks: [{ name: 'n' }] },
    ]);
    const later = await node(pipeline.id, 'stage.go.task.later');
    expect((await deferNode(w.db, w.config, w.owner, { nodeId: later.id })).status).toBe('DEFERRED');
    expect(await statuses(pipeline.id)).toMatchObject({ 'stage.go': 'SUCCEEDED', 'stage.next': 'SUCCEEDED' });
    expect((await getPipeline(w.db, w.owner, pipeline.id)).status).toBe('SUCCEEDED');
    expect((await rejection(deferNode(w.db, w.config, w.owner, { nodeId: later.id }))).message).toBe('Cannot defer task later: it is DEFERRED');
  });
});

describe('failures and retries', () => {
  it('skips later auto stages after a failure, runs pipeline_failure stages, and ends FAILED; a retry reopens the pipeline', async () => {
    const pipeline = await start([
      { name: 'build', tasks: [{ name: 'compile', actions: [{ alias: 'a' }] }] },
      { name: 'deploy', tasks: [{ name: 'ship', actions: [{ alias: 'a' }] }] },
      { name: 'cleanup', when: 'pipeline_failure', tasks: [{ name: 'notify', actions: [{ alias: 'a' }] }] },
    ]);
    await complete(pipeline.id, 'stage.build.task.compile', 'FAILED');
    expect(await statuses(pipeline.id)).toMatchObject({
      'stage.build': 'FAILED',
      'stage.deploy': 'SKIPPED',
      'stage.deploy.task.ship': 'CREATED',
      'stage.cleanup': 'RUNNING',
      'stage.cleanup.task.notify': 'QUEUED',
    });
    const compile = await node(pipeline.id, 'stage.build.task.compile');
    const early = await rejection(retryTask(w.db, w.config, w.owner, { nodeId: compile.id }));
    expect(early.message).toBe('Cannot retry task compile: its stage has ended and the pipeline is RUNNING');
    await complete(pipeline.id, 'stage.cleanup.task.notify');
    expect((await getPipeline(w.db, w.owner, pipeline.id)).status).toBe('FAILED');

    expect((await retryTask(w.db, w.config, w.owner, { nodeId: compile.id })).status).toBe('QUEUED');
    expect((await getPipeline(w.db, w.owner, pipeline.id)).status).toBe('RUNNING');
    expect(await statuses(pipeline.id)).toMatchObject({ 'stage.build': 'RUNNING', 'stage.deploy': 'CREATED', 'stage.cleanup': 'SUCCEEDED' });
    await complete(pipeline.id, 'stage.build.task.compile');
    await complete(pipeline.id, 'stage.deploy.task.ship');
    expect((await getPipeline(w.db, w.owner, pipeline.id)).status).toBe('SUCCEEDED');
    const jobs = (await listPipelineJobs(w.db, w.owner, pipeline.id)).filter((job) => job.nodeId === compile.id);
    expect(jobs.map((job) => [job.attempt, job.status])).toEqual([
      [1, 'FAILED'],
      [1, 'FINISHED'],
    ]);
  });
});

describe('more edges', () => {
  it('a stage with approval rules waits for them before any of its tasks start', async () => {
    const rule = await w.approvalRule('stage-gate', 1);
    const pipeline = await start([{ name: 'prod', approvalRules: [rule], tasks: [{ name: 'a', actions: [{ alias: 'a' }] }, { name: 'b' }] }]);
    expect(await statuses(pipeline.id)).toEqual({ 'stage.prod': 'APPROVAL_PENDING', 'stage.prod.task.a': 'CREATED', 'stage.prod.task.b': 'CREATED' });
    const stage = await node(pipeline.id, 'stage.prod');
    expect((await approveNode(w.db, w.config, w.teamMembers[2]!, { nodeId: stage.id })).status).toBe('RUNNING');
    expect(await statuses(pipeline.id)).toEqual({ 'stage.prod': 'RUNNING', 'stage.prod.task.a': 'QUEUED', 'stage.prod.task.b': 'SUCCEEDED' });
  });

  it('retries a failed task while its stage is still running, without touching the rest', async () => {
    const pipeline = await start([
      {
        name: 's',
        tasks: [
          { name: 'flaky', actions: [{ alias: 'a' }] },
          { name: 'slow', actions: [{ alias: 'a' }] },
        ],
      },
    ]);
    await complete(pipeline.id, 'stage.s.task.flaky', 'FAILED');
    expect(await statuses(pipeline.id)).toMatchObject({ 'stage.s': 'RUNNING', 'stage.s.task.flaky': 'FAILED', 'stage.s.task.slow': 'QUEUED' });
    const flaky = await node(pipeline.id, 'stage.s.task.flaky');
    expect((await retryTask(w.db, w.config, w.owner, { nodeId: flaky.id })).status).toBe('QUEUED');
    expect((await activeJob(pipeline.id, 'stage.s.task.flaky')).status).toBe('QUEUED');
    await complete(pipeline.id, 'stage.s.task.flaky');
    await complete(pipeline.id, 'stage.s.task.slow');
    expect((await getPipeline(w.db, w.owner, pipeline.id)).status).toBe('SUCCEEDED');
  });

  it('fails a task whose inputs cannot be evaluated, saying why in its event', async () => {
    const pipeline = await start([{ name: 's', tasks: [{ name: 'broken', actions: [{ alias: 'a', inputs: { command: ref('var.nothing') } }] }] }]);
    const broken = await node(pipeline.id, 'stage.s.task.broken');
    expect(broken.status).toBe('FAILED');
    const [event] = (
      await w.db.execute<{ payload: { reason: string } }>(
        sql`select payload from pipeline_events where kind = 'node.status_changed' and payload->>'nodeId' = ${broken.id} and payload->>'status' = 'FAILED'`,
      )
    ).rows;
    expect(event!.payload.reason).toContain('inputs:');
    expect(await listPipelineJobs(w.db, w.owner, pipeline.id)).toEqual([]);
  });

  it('canceling a nested pipeline on its own fails its node, and so the parent', async () => {
    const childTemplate = await storeTemplate(w.db, w, template({ stages: [{ name: 'inner', tasks: [{ name: 'work', actions: [{ alias: 'a' }] }] }] }));
    const pipeline = await start([{ name: 'outer', pipelines: [{ name: 'child', templateId: childTemplate }] }]);
    const nestedId = (await node(pipeline.id, 'stage.outer.pipeline.child')).nestedPipelineId!;
    expect((await cancelPipeline(w.db, w.config, w.owner, { pipelineId: nestedId })).status).toBe('CANCELED');
    expect(await statuses(pipeline.id)).toEqual({ 'stage.outer': 'FAILED', 'stage.outer.pipeline.child': 'CANCELED' });
    expect((await getPipeline(w.db, w.owner, pipeline.id)).status).toBe('FAILED');
  });
});

describe('nested pipelines', () => {
  it('runs a nested pipeline from the template its template_id names, with variables evaluated in the parent, and ends with it', async () => {
    const childTemplate = await storeTemplate(
      w.db,
      w,
      template({
        variables: [
          { name: 'region', type: 'string' },
          { name: 'token', type: 'string', sensitive: true },
        ],
        stages: [{ name: 'inner', tasks: [{ name: 'work', actions: [{ alias: 'a', inputs: { command: str(ref('var.region'), '/', ref('var.token')) } }] }] }],
      }),
    );
    const pipeline = await start(
      [
        { name: 'outer', pipelines: [{ name: 'child', templateId: childTemplate, variables: obj({ region: ref('var.region'), token: lit('s3cret') }) }] },
        { name: 'after', tasks: [{ name: 'done' }] },
      ],
      { declared: [{ name: 'region', type: 'string' }], variables: { region: 'eu' } },
    );
    const child = await node(pipeline.id, 'stage.outer.pipeline.child');
    expect(child.status).toBe('RUNNING');
    const nested = await getPipeline(w.db, w.owner, child.nestedPipelineId!);
    expect(nested).toMatchObject({
      type: 'NESTED',
      status: 'RUNNING',
      parentPipelineId: pipeline.id,
      variables: { region: 'eu' },
      sensitiveVariableNames: ['token'],
    });
    expect(JSON.stringify(nested)).not.toContain('s3cret');
    const job = await activeJob(nested.id, 'stage.inner.task.work');
    const [sealed] = (await w.db.execute<{ inputs: string }>(sql`select inputs from jobs where id = ${job.id}`)).rows;
    expect((await openJson<{ inputs: unknown }[]>(w.config, sealed!.inputs, jobInputsBinding(job.id)))[0]!.inputs).toEqual({ command: 'eu/s3cret' });
    await complete(nested.id, 'stage.inner.task.work');
    expect((await getPipeline(w.db, w.owner, nested.id)).status).toBe('SUCCEEDED');
    expect(await statuses(pipeline.id)).toMatchObject({ 'stage.outer.pipeline.child': 'SUCCEEDED', 'stage.after': 'SUCCEEDED' });
    expect((await getPipeline(w.db, w.owner, pipeline.id)).status).toBe('SUCCEEDED');
  });

  it('accepts the PRN of a template version of the project as template_id', async () => {
    const childTemplate = await storeTemplate(w.db, w, template({ stages: [{ name: 'inner', tasks: [{ name: 'work' }] }] }));
    const [names] = (
      await w.db.execute<{ path: string }>(sql`
        select o.name || '/' || p.name || '/' || t.name || '/' || t.id as path from pipeline_templates t
        join projects p on p.id = t.project_id join organizations o on o.id = p.organization_id where t.id = ${childTemplate}`)
    ).rows;
    const pipeline = await start([{ name: 'outer', pipelines: [{ name: 'child', templateId: `prn:pipeline_template:${names!.path}` }] }]);
    const child = await node(pipeline.id, 'stage.outer.pipeline.child');
    expect(child.status).toBe('SUCCEEDED');
    expect((await getPipeline(w.db, w.owner, child.nestedPipelineId!)).pipelineTemplateId).toBe(childTemplate);
    // A PRN naming no template of this project fails the node, as an unknown id does.
    const missing = await start([
      { name: 'outer', pipelines: [{ name: 'child', templateId: `prn:pipeline_template:${names!.path.replace(/[^/]+$/, '9.9.9')}` }] },
    ]);
    expect((await node(missing.id, 'stage.outer.pipeline.child')).status).toBe('FAILED');
  });

  it('fails the node when the nested template does not exist', async () => {
    const pipeline = await start([{ name: 'outer', pipelines: [{ name: 'child', templateId: crypto.randomUUID() }] }]);
    expect((await node(pipeline.id, 'stage.outer.pipeline.child')).status).toBe('FAILED');
    expect((await getPipeline(w.db, w.owner, pipeline.id)).status).toBe('FAILED');
  });
});

describe('cancel', () => {
  it('cancels queued jobs outright, asks running ones to stop, cancels nested pipelines, and ends CANCELED when nothing is active', async () => {
    const childTemplate = await storeTemplate(w.db, w, template({ stages: [{ name: 'inner', tasks: [{ name: 'work', actions: [{ alias: 'a' }] }] }] }));
    const pipeline = await start([
      {
        name: 'all',
        tasks: [
          { name: 'queued', actions: [{ alias: 'a' }] },
          { name: 'running', actions: [{ alias: 'a' }] },
          { name: 'waiting', when: 'manual', actions: [{ alias: 'a' }] },
        ],
        pipelines: [{ name: 'child', templateId: childTemplate }],
      },
      { name: 'later', tasks: [{ name: 'never' }] },
    ]);
    const running = await activeJob(pipeline.id, 'stage.all.task.running');
    await markJobRunning(w.db, w.config, running.id);
    const nestedId = (await node(pipeline.id, 'stage.all.pipeline.child')).nestedPipelineId!;
    const nestedJob = await activeJob(nestedId, 'stage.inner.task.work');
    await markJobRunning(w.db, w.config, nestedJob.id);

    const canceling = await cancelPipeline(w.db, w.config, w.owner, { pipelineId: pipeline.id });
    expect(canceling.status).toBe('CANCELING');
    expect(await statuses(pipeline.id)).toEqual({
      'stage.all': 'CANCELING',
      'stage.all.task.queued': 'CANCELED',
      'stage.all.task.running': 'CANCELING',
      'stage.all.task.waiting': 'CANCELED',
      'stage.all.pipeline.child': 'CANCELING',
      'stage.later': 'CANCELED',
      'stage.later.task.never': 'CANCELED',
    });
    expect((await activeJob(pipeline.id, 'stage.all.task.queued')).status).toBe('CANCELED');
    expect((await activeJob(pipeline.id, 'stage.all.task.running')).status).toBe('CANCELING');
    expect((await getPipeline(w.db, w.owner, nestedId)).status).toBe('CANCELING');
    expect((await rejection(cancelPipeline(w.db, w.config, w.owner, { pipelineId: pipeline.id }))).message).toBe(
      `Cannot cancel pipeline ${pipeline.id}: it is CANCELING`,
    );

    await finishJob(w.db, w.config, running.id, { status: 'CANCELED' });
    expect((await getPipeline(w.db, w.owner, pipeline.id)).status).toBe('CANCELING');
    await finishJob(w.db, w.config, nestedJob.id, { status: 'CANCELED' });
    expect((await getPipeline(w.db, w.owner, nestedId)).status).toBe('CANCELED');
    expect((await getPipeline(w.db, w.owner, pipeline.id)).status).toBe('CANCELED');
    expect(await statuses(pipeline.id)).toMatchObject({
      'stage.all': 'CANCELED',
      'stage.all.task.running': 'CANCELED',
      'stage.all.pipeline.child': 'CANCELED',
    });
  });
});

describe('creating pipelines', () => {
  const declared = [
    { name: 'count', type: 'number' as const },
    { name: 'password', type: 'string' as const, sensitive: true },
    { name: 'region', type: 'string' as const, hasDefault: true, default: 'eu' },
  ];
  const stages: StageSpec[] = [{ name: 's', tasks: [{ name: 't', actions: [{ alias: 'a' }] }] }];

  it('checks variables against the template: missing, unknown and wrong-typed ones are refused by name, nothing written', async () => {
    const before = (await w.db.execute<{ n: number }>(sql`select count(*)::int as n from pipelines`)).rows[0]!.n;
    const missing = await rejection(start(stages, { declared, variables: { count: 1 } }));
    expect(missing).toMatchObject({ code: 'BAD_USER_INPUT', options: { field: 'variables.password' } });
    expect(missing.message).toContain('required');
    const unknown = await rejection(start(stages, { declared, variables: { count: 1, password: 'x', colour: 'red' } }));
    expect(unknown).toMatchObject({ code: 'BAD_USER_INPUT', options: { field: 'variables.colour' } });
    const wrong = await rejection(start(stages, { declared, variables: { count: 'many', password: 'x' } }));
    expect(wrong).toMatchObject({ code: 'BAD_USER_INPUT', options: { field: 'variables.count' } });
    expect(wrong.message).toBe('variables.count: a number is required, not "many"');
    // null is no value: a variable without a default still needs one.
    expect(await rejection(start(stages, { declared, variables: { count: 1, password: null } }))).toMatchObject({ options: { field: 'variables.password' } });
    expect((await w.db.execute<{ n: number }>(sql`select count(*)::int as n from pipelines`)).rows[0]!.n).toBe(before);
  });

  it('stores sensitive values sealed and never returns them', async () => {
    const pipeline = await start(stages, { declared, variables: { count: '3', password: 'hunter2' } });
    expect(pipeline.variables).toEqual({ count: 3, region: 'eu' });
    expect(pipeline.sensitiveVariableNames).toEqual(['password']);
    expect(JSON.stringify(await getPipeline(w.db, w.owner, pipeline.id))).not.toContain('hunter2');
    const raw = await w.db.execute(sql`select * from pipelines where id = ${pipeline.id}`);
    expect(JSON.stringify(raw.rows)).not.toContain('hunter2');
    const logged = await w.db.execute(sql`select * from activity_events where target_id = ${pipeline.id}`);
    expect(logged.rows).toHaveLength(1);
    expect(JSON.stringify(logged.rows)).not.toContain('hunter2');
  });

  it('lists a project’s pipelines newest first and shows jobs without their inputs, to those who see the project', async () => {
    const first = await start(stages, { declared, variables: { count: 1, password: 'a' } });
    const second = await start(stages, { declared, variables: { count: 2, password: 'b' } });
    const listed = await listProjectPipelines(w.db, w.viewer, { projectId: w.projectId, limit: 2 });
    expect(listed.map((pipeline) => pipeline.id)).toEqual([second.id, first.id]);
    expect(listed[0]).not.toHaveProperty('template');
    expect(listed[0]).not.toHaveProperty('sensitiveVariables');
    expect((await rejection(listProjectPipelines(w.db, w.viewer, { projectId: w.projectId, limit: 0 }))).options.field).toBe('limit');
    expect((await rejection(listProjectPipelines(w.db, w.outsider, { projectId: w.projectId }))).code).toBe('NOT_FOUND');
    const [job] = await listPipelineJobs(w.db, w.viewer, second.id);
    expect(await getJob(w.db, w.viewer, job!.id)).toMatchObject({ id: job!.id, status: 'QUEUED' });
    expect(await getJob(w.db, w.viewer, job!.id)).not.toHaveProperty('inputs');
    expect((await rejection(getJob(w.db, w.outsider, job!.id))).code).toBe('NOT_FOUND');
    expect((await rejection(getPipeline(w.db, w.outsider, second.id))).code).toBe('NOT_FOUND');
  });

  it('needs pipeline:execute, and a deployment passes the environment gatekeeper and creates its environment', async () => {
    const templateId = await storeTemplate(w.db, w, template({ stages }));
    expect((await rejection(createPipeline(w.db, w.config, w.viewer, { pipelineTemplateId: templateId, type: 'RUNBOOK' }))).code).toBe('FORBIDDEN');
    expect((await rejection(createPipeline(w.db, w.config, w.outsider, { pipelineTemplateId: templateId, type: 'RUNBOOK' }))).code).toBe('NOT_FOUND');
    const noEnvironment = await rejection(createPipeline(w.db, w.config, w.owner, { pipelineTemplateId: templateId, type: 'DEPLOYMENT' }));
    expect(noEnvironment).toMatchObject({ code: 'BAD_USER_INPUT', options: { field: 'environmentName' } });

    const deployment = await createPipeline(w.db, w.config, w.owner, { pipelineTemplateId: templateId, type: 'DEPLOYMENT', environmentName: 'staging' });
    expect(deployment).toMatchObject({ type: 'DEPLOYMENT', environmentName: 'staging', status: 'RUNNING' });
    const environments = await w.db.execute<{ name: string }>(sql`select name from environments where project_id = ${w.projectId}`);
    expect(environments.rows.map((row) => row.name)).toContain('staging');

    await createProtectionRule(w.db, w.admin, { projectId: w.projectId, environmentPattern: 'prod', principals: { userIds: [w.userId(w.directApprover)] } });
    const refused = await rejection(createPipeline(w.db, w.config, w.owner, { pipelineTemplateId: templateId, type: 'DEPLOYMENT', environmentName: 'prod' }));
    expect(refused.code).toBe('FORBIDDEN');
    expect(refused.message).toContain('Environment prod is protected by the rule for prod');
    const prod = await w.db.execute(sql`select 1 from environments where project_id = ${w.projectId} and name = 'prod'`);
    expect(prod.rows).toHaveLength(0);
  });
});
