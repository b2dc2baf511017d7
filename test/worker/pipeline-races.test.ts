// Transitions racing against real Postgres end in exactly one valid state; and the number of
// database round trips a task transition costs.
import { neonConfig } from '@neondatabase/serverless';
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { finishJob, markJobRunning } from '../../src/domain/jobs/service';
import { onJobRunning } from '../../src/domain/pipelines/advance';
import { commitDraft, isLostRace } from '../../src/domain/pipelines/commit';
import { Draft } from '../../src/domain/pipelines/draft';
import { loadTree } from '../../src/domain/pipelines/tree';
import { approveNode, cancelPipeline, createPipeline, getPipeline, listPipelineJobs, listPipelineNodes } from '../../src/domain/pipelines/service';
import { countQueries } from '../support/graphql';
import { openJson, jobInputsBinding } from '../../src/domain/pipelines/secrets';
import { lit, storeTemplate, template, type StageSpec } from '../support/pipeline-templates';
import { pipelineWorld, type PipelineWorld } from '../support/pipeline-world';

let w: PipelineWorld;

beforeAll(async () => {
  w = await pipelineWorld();
});

async function start(stages: StageSpec[]) {
  const templateId = await storeTemplate(w.db, w, template({ stages }));
  return createPipeline(w.db, w.config, w.owner, { pipelineTemplateId: templateId, type: 'RUNBOOK' });
}

async function nodes(pipelineId: string) {
  return new Map((await listPipelineNodes(w.db, w.owner, pipelineId)).map((node) => [node.path, node]));
}

const outcomes = (results: PromiseSettledResult<unknown>[]) => results.map((result) => result.status).sort();

describe('races', () => {
  it('two approvals by different approvers both count; the node starts once', async () => {
    const rule = await w.approvalRule('race-two', 2);
    const pipeline = await start([{ name: 'p', tasks: [{ name: 'deploy', approvalRules: [rule], actions: [{ alias: 'a' }] }] }]);
    const deploy = (await nodes(pipeline.id)).get('stage.p.task.deploy')!;
    const results = await Promise.allSettled([
      approveNode(w.db, w.config, w.teamMembers[0]!, { nodeId: deploy.id }),
      approveNode(w.db, w.config, w.directApprover, { nodeId: deploy.id }),
    ]);
    expect(outcomes(results)).toEqual(['fulfilled', 'fulfilled']);
    expect((await nodes(pipeline.id)).get('stage.p.task.deploy')!.status).toBe('QUEUED');
    expect(await listPipelineJobs(w.db, w.owner, pipeline.id)).toHaveLength(1);
  });

  it('the same approver twice at once: one approval, one CONFLICT', async () => {
    const rule = await w.approvalRule('race-same', 2);
    const pipeline = await start([{ name: 'p', tasks: [{ name: 'deploy', approvalRules: [rule], actions: [{ alias: 'a' }] }] }]);
    const deploy = (await nodes(pipeline.id)).get('stage.p.task.deploy')!;
    const results = await Promise.allSettled([
      approveNode(w.db, w.config, w.teamMembers[1]!, { nodeId: deploy.id }),
      approveNode(w.db, w.config, w.teamMembers[1]!, { nodeId: deploy.id }),
    ]);
    expect(outcomes(results)).toEqual(['fulfilled', 'rejected']);
    expect((results.find((result) => result.status === 'rejected') as PromiseRejectedResult).reason.code).toBe('CONFLICT');
    const live = await w.db.execute(sql`select 1 from pipeline_approvals where node_id = ${deploy.id} and revoked_at is null`);
    expect(live.rows).toHaveLength(1);
    expect((await nodes(pipeline.id)).get('stage.p.task.deploy')!.status).toBe('APPROVAL_PENDING');
  });

  it('two cancels at once: one cancels, the other is refused', async () => {
    const pipeline = await start([{ name: 'p', tasks: [{ name: 't', actions: [{ alias: 'a' }] }] }]);
    const results = await Promise.allSettled([
      cancelPipeline(w.db, w.config, w.owner, { pipelineId: pipeline.id }),
      cancelPipeline(w.db, w.config, w.owner, { pipelineId: pipeline.id }),
    ]);
    expect(outcomes(results)).toEqual(['fulfilled', 'rejected']);
    expect((results.find((result) => result.status === 'rejected') as PromiseRejectedResult).reason.message).toBe(
      `Cannot cancel pipeline ${pipeline.id}: it is CANCELED`,
    );
    expect((await getPipeline(w.db, w.owner, pipeline.id)).status).toBe('CANCELED');
    const events = await w.db.execute(
      sql`select 1 from pipeline_events where pipeline_id = ${pipeline.id} and kind = 'pipeline.status_changed' and payload->>'status' = 'CANCELED'`,
    );
    expect(events.rows).toHaveLength(1);
  });

  it('a job finishing while the pipeline is canceled: either order ends CANCELED with nothing active', async () => {
    const seen = new Set<string>();
    for (let round = 0; round < 6; round += 1) {
      const pipeline = await start([
        { name: 'first', tasks: [{ name: 'work', actions: [{ alias: 'a' }] }] },
        { name: 'second', tasks: [{ name: 'more', actions: [{ alias: 'a' }] }] },
      ]);
      const [job] = await listPipelineJobs(w.db, w.owner, pipeline.id);
      await markJobRunning(w.db, w.config, job!.id);
      const results = await Promise.allSettled([
        finishJob(w.db, w.config, job!.id, { status: 'FINISHED' }),
        cancelPipeline(w.db, w.config, w.owner, { pipelineId: pipeline.id }),
      ]);
      expect(outcomes(results)).toEqual(['fulfilled', 'fulfilled']);
      const after = await nodes(pipeline.id);
      const jobs = await listPipelineJobs(w.db, w.owner, pipeline.id);
      expect((await getPipeline(w.db, w.owner, pipeline.id)).status).toBe('CANCELED');
      expect(jobs.every((item) => ['FINISHED', 'CANCELED'].includes(item.status))).toBe(true);
      expect(jobs[0]!.status).toBe('FINISHED');
      const work = after.get('stage.first.task.work')!.status;
      // Finished first: the task succeeded and the next stage's job was queued, then canceled.
      // Canceled first: the task waited for its job (CANCELING) and ended CANCELED.
      if (work === 'SUCCEEDED') {
        expect(jobs).toHaveLength(2);
        expect(after.get('stage.second.task.more')!.status).toBe('CANCELED');
      } else {
        expect(work).toBe('CANCELED');
        expect(jobs).toHaveLength(1);
      }
      seen.add(work);
    }
    expect([...seen].every((status) => status === 'SUCCEEDED' || status === 'CANCELED')).toBe(true);
  });
});

describe('the commit guard', () => {
  it('refuses a draft computed from a state that has changed since, as a lost race the engine retries', async () => {
    const pipeline = await start([{ name: 'p', tasks: [{ name: 't', actions: [{ alias: 'a' }] }] }]);
    const [job] = await listPipelineJobs(w.db, w.owner, pipeline.id);
    const stale = new Draft(await loadTree(w.db, { pipelineId: pipeline.id }), new Date());
    onJobRunning(stale, stale.tree.jobs.get(job!.id)!);
    await cancelPipeline(w.db, w.config, w.owner, { pipelineId: pipeline.id });
    const error = await commitDraft(w.db, stale).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(isLostRace(error)).toBe(true);
    expect((await listPipelineJobs(w.db, w.owner, pipeline.id))[0]!.status).toBe('CANCELED');
    // Through the engine, the same transition is recomputed on the new state and refused there.
    await expect(markJobRunning(w.db, w.config, job!.id)).rejects.toThrow(`Cannot run job ${job!.id}: it is CANCELED`);
  });
});

describe('round trips', () => {
  it('a job finishing that ends its task and stage and queues the next stage’s job costs at most 3 round trips', async () => {
    const pipeline = await start([
      { name: 'first', tasks: [{ name: 'work', actions: [{ alias: 'a' }] }] },
      { name: 'second', tasks: [{ name: 'more', actions: [{ alias: 'a' }] }] },
    ]);
    const [job] = await listPipelineJobs(w.db, w.owner, pipeline.id);
    const running = await countQueries(w.h.env.PHOBOS_DB_NAME as string, () => markJobRunning(w.db, w.config, job!.id));
    const finishing = await countQueries(w.h.env.PHOBOS_DB_NAME as string, () => finishJob(w.db, w.config, job!.id, { status: 'FINISHED' }));
    expect((await nodes(pipeline.id)).get('stage.second.task.more')!.status).toBe('QUEUED');
    expect(running.count).toBeLessThanOrEqual(3);
    expect(finishing.count).toBeLessThanOrEqual(3);
    // Load the tree, commit the transition; and, when the isolate's one-second copy of the routing
    // candidates has lapsed (a slow run), one read of them for the next stage's job.
    const candidateReads = finishing.statements.filter((statement) => statement.includes('from agents a,'));
    expect(candidateReads.length).toBeLessThanOrEqual(1);
    expect(finishing.statements.filter((statement) => !candidateReads.includes(statement))).toHaveLength(2);
  });

  it('a tree loads without job inputs, and its template comes over the wire once per isolate', async () => {
    // A template large enough to dominate the tree: 50 tasks whose inputs are long literals.
    const tasks = Array.from({ length: 50 }, (_, index) => ({ name: `t${index}`, actions: [{ alias: 'a', inputs: { command: lit('x'.repeat(400)) } }] }));
    const pipeline = await start([{ name: 'only', tasks }]);
    const [job] = await listPipelineJobs(w.db, w.owner, pipeline.id);
    const loadBytes = async () => {
      let bytes = 0;
      const previous = neonConfig.fetchFunction as typeof fetch | undefined;
      neonConfig.fetchFunction = async (input: RequestInfo | URL, init?: RequestInit) => {
        const response = await (previous ?? fetch)(input, init);
        const body = await response.text();
        bytes += body.length;
        return new Response(body, { status: response.status, headers: response.headers });
      };
      try {
        return { tree: await loadTree(w.db, { jobId: job!.id }), bytes };
      } finally {
        neonConfig.fetchFunction = previous;
      }
    };
    const first = await loadBytes();
    const second = await loadBytes();
    const stored = (await getPipelineRow(pipeline.id)).template;
    // Both loads hold the template; only the first brought it.
    expect(first.tree.pipelines.get(pipeline.id)!.template).toEqual(stored);
    expect(second.tree.pipelines.get(pipeline.id)!.template).toEqual(stored);
    expect(first.bytes - second.bytes).toBeGreaterThan(50 * 400);
    expect(second.tree.jobs.get(job!.id)!.inputs).toBe('');
    // A transition commits the job without touching its sealed inputs.
    await markJobRunning(w.db, w.config, job!.id);
    const row = (await w.db.execute<{ inputs: string }>(sql`select inputs from jobs where id = ${job!.id}`)).rows[0]!;
    const [action] = await openJson<{ inputs: { command: string } }[]>(w.config, row.inputs, jobInputsBinding(job!.id));
    expect(action!.inputs.command).toBe('x'.repeat(400));
  });
});

async function getPipelineRow(id: string) {
  const result = await w.db.execute<{ template: unknown }>(sql`select template from pipelines where id = ${id}`);
  return result.rows[0]!;
}
