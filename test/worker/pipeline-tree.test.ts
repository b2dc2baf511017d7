// Job transitions of one pipeline tree reported at once run in turn in the tree's PipelineTree
// object: none is refused for losing a race, and the tree ends as if they had come one by one.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { reportJobEnded, reportJobRunning } from '../../src/domain/jobs/tree-transitions';
import { pipelineTreeShard } from '../../src/durable/pipeline-tree';
import { createPipeline, getPipeline, listPipelineJobs } from '../../src/domain/pipelines/service';
import { storeTemplate, template } from '../support/pipeline-templates';
import { pipelineWorld, type PipelineWorld } from '../support/pipeline-world';

let w: PipelineWorld;

beforeAll(async () => {
  w = await pipelineWorld();
});

const taskCount = 12;
const trees = () => ({ namespace: w.h.env.PIPELINE_TREE, database: w.h.config.database.name ?? '' });

describe('PipelineTree', () => {
  it(`runs ${taskCount} jobs of one stage started and ended at once without a lost race reaching anyone`, async () => {
    const tasks = Array.from({ length: taskCount }, (_, index) => ({ name: `t${index}`, actions: [{ alias: 'a' }] }));
    const templateId = await storeTemplate(
      w.db,
      w,
      template({
        stages: [
          { name: 'wide', tasks },
          { name: 'after', tasks: [{ name: 'next', actions: [{ alias: 'b' }] }] },
        ],
      }),
    );
    const pipeline = await createPipeline(w.db, w.config, w.owner, { pipelineTemplateId: templateId, type: 'RUNBOOK' });
    const queued = await listPipelineJobs(w.db, w.owner, pipeline.id);
    expect(queued).toHaveLength(taskCount);

    const running = await Promise.allSettled(queued.map((job) => reportJobRunning(w.db, trees(), job.id)));
    expect(running.map((result) => result.status)).toEqual(queued.map(() => 'fulfilled'));
    // A job starting queues nothing: its commit owes the agents no dispatch.
    expect(running.map((result) => result.status === 'fulfilled' && result.value.owesAgents)).toEqual(queued.map(() => false));
    const ended = await Promise.allSettled(
      queued.map((job, index) => reportJobEnded(w.db, trees(), job.id, { status: 'FINISHED', outputs: { a: { index } } })),
    );
    expect(ended.map((result) => result.status)).toEqual(queued.map(() => 'fulfilled'));
    // Only the last of the stage's ends queued the next stage's job.
    expect(ended.filter((result) => result.status === 'fulfilled' && result.value.owesAgents)).toHaveLength(1);

    // The second stage started once, with one job; the first stage's jobs kept their own outputs.
    const jobs = await listPipelineJobs(w.db, w.owner, pipeline.id);
    expect(jobs.filter((job) => job.status === 'QUEUED')).toHaveLength(1);
    const outputs = await w.db.execute<{ outputs: { a: { index: number } } }>(
      sql`select outputs from jobs where pipeline_id = ${pipeline.id} and status = 'FINISHED'`,
    );
    expect(outputs.rows.map((row) => row.outputs.a.index).sort((a, b) => a - b)).toEqual(queued.map((_, index) => index));
    expect((await getPipeline(w.db, w.owner, pipeline.id)).status).toBe('RUNNING');
  });

  it('hands a refusal back as the error the engine raised, with its code', async () => {
    const templateId = await storeTemplate(w.db, w, template({ stages: [{ name: 's', tasks: [{ name: 'only', actions: [{ alias: 'a' }] }] }] }));
    const pipeline = await createPipeline(w.db, w.config, w.owner, { pipelineTemplateId: templateId, type: 'RUNBOOK' });
    const [job] = await listPipelineJobs(w.db, w.owner, pipeline.id);
    await reportJobRunning(w.db, trees(), job!.id);
    await reportJobEnded(w.db, trees(), job!.id, { status: 'FAILED' });
    await expect(reportJobEnded(w.db, trees(), job!.id, { status: 'FINISHED' })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: `Cannot finish job ${job!.id}: it is FAILED`,
    });
    await expect(reportJobRunning(w.db, trees(), crypto.randomUUID())).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await getPipeline(w.db, w.owner, pipeline.id)).status).toBe('FAILED');
  });

  it('puts a tree in the same shard every time, and spreads trees over the shards', () => {
    const roots = Array.from({ length: 640 }, () => crypto.randomUUID());
    expect(roots.map(pipelineTreeShard)).toEqual(roots.map(pipelineTreeShard));
    const perShard = new Map<string, number>();
    for (const root of roots) perShard.set(pipelineTreeShard(root), (perShard.get(pipelineTreeShard(root)) ?? 0) + 1);
    expect(perShard.size).toBeGreaterThan(48);
    expect(Math.max(...perShard.values())).toBeLessThan(40);
  });

  it('runs the transitions of two trees of one shard side by side, each tree in turn', async () => {
    const templateId = await storeTemplate(
      w.db,
      w,
      template({
        stages: [
          {
            name: 's',
            tasks: [
              { name: 'a', actions: [{ alias: 'a' }] },
              { name: 'b', actions: [{ alias: 'b' }] },
            ],
          },
        ],
      }),
    );
    // Two pipelines whose trees share a shard.
    const first = await createPipeline(w.db, w.config, w.owner, { pipelineTemplateId: templateId, type: 'RUNBOOK' });
    let second = await createPipeline(w.db, w.config, w.owner, { pipelineTemplateId: templateId, type: 'RUNBOOK' });
    while (pipelineTreeShard(second.id) !== pipelineTreeShard(first.id)) {
      second = await createPipeline(w.db, w.config, w.owner, { pipelineTemplateId: templateId, type: 'RUNBOOK' });
    }
    const jobs = [...(await listPipelineJobs(w.db, w.owner, first.id)), ...(await listPipelineJobs(w.db, w.owner, second.id))];
    expect(jobs).toHaveLength(4);
    const running = await Promise.allSettled(jobs.map((job) => reportJobRunning(w.db, trees(), job.id)));
    expect(running.map((result) => result.status)).toEqual(jobs.map(() => 'fulfilled'));
    const ended = await Promise.allSettled(jobs.map((job) => reportJobEnded(w.db, trees(), job.id, { status: 'FINISHED' })));
    expect(ended.map((result) => result.status)).toEqual(jobs.map(() => 'fulfilled'));
    expect((await getPipeline(w.db, w.owner, first.id)).status).toBe('SUCCEEDED');
    expect((await getPipeline(w.db, w.owner, second.id)).status).toBe('SUCCEEDED');
  });
});
