// The engine's set-based path for many trees at once (runTransitionsTogether → loadTrees and
// commitDrafts, the agents' queues' write-behind): rows written exactly as each tree's draft holds
// them and as tree-by-tree commits write them, one lost race failing the whole with nothing written,
// a project's events in commit order, and NOT_FOUND of a missing tree.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { wellFormed } from '../../src/db/well-formed';
import { jobs, pipelineEvents, pipelineNodes, pipelines } from '../../src/db/schema';
import { applyJobReports, type JobReport } from '../../src/domain/jobs/service';
import { onJobEnded, onJobRunning, type EngineContext } from '../../src/domain/pipelines/advance';
import type { Draft } from '../../src/domain/pipelines/draft';
import { runTransitionsTogether } from '../../src/domain/pipelines/engine';
import { createPipeline } from '../../src/domain/pipelines/service';
import { loadTree, loadTrees } from '../../src/domain/pipelines/tree';
import { storeTemplate, template, type StageSpec } from '../support/pipeline-templates';
import { pipelineWorld, type PipelineWorld } from '../support/pipeline-world';

let w: PipelineWorld;
const templates = new Map<string, string>();
const now = new Date('2026-06-01T12:00:00.123Z');
const ranAt = Date.parse('2026-06-01T11:59:00.456Z');
const endedAt = Date.parse('2026-06-01T11:59:30.789Z');
const uuids = (ids: string[]) => `{${ids.join(',')}}`;

beforeAll(async () => {
  w = await pipelineWorld();
  const shapes: Record<string, StageSpec[]> = {
    // The stage's end starts the next: a node ends, a stage starts, a job is inserted.
    twoStages: [
      { name: 'a', tasks: [{ name: 't', actions: [{ alias: 'x' }] }] },
      { name: 'b', tasks: [{ name: 't', actions: [{ alias: 'x' }] }] },
    ],
    // The pipeline's end.
    oneStage: [{ name: 'a', tasks: [{ name: 't', actions: [{ alias: 'x' }] }] }],
  };
  for (const [name, stages] of Object.entries(shapes)) templates.set(name, await storeTemplate(w.db, w, template({ stages })));
});

type Tree = { rootId: string; jobId: string; ended: JobReport['ended'] };

/** A pipeline of `shape` whose first job an agent holds (PENDING), and that job. */
async function started(shape: string): Promise<{ rootId: string; jobId: string }> {
  const pipeline = await createPipeline(w.db, w.config, w.owner, { pipelineTemplateId: templates.get(shape)!, type: 'RUNBOOK' });
  const job = await w.db.execute<{ id: string }>(
    sql`update jobs set status = 'PENDING', pending_at = '2026-06-01T11:58:00Z' where pipeline_id = ${pipeline.id} returning id`,
  );
  return { rootId: pipeline.id, jobId: job.rows[0]!.id };
}

/** One of each kind of change: a stage handing on, a pipeline succeeding, a job failing with a reason cut inside a surrogate pair. */
const cases: { shape: string; ended: JobReport['ended'] }[] = [
  { shape: 'twoStages', ended: { status: 'FINISHED', outputs: { x: { n: 1, s: 'é', nested: [null, true] } } } },
  { shape: 'oneStage', ended: { status: 'FINISHED', outputs: {} } },
  { shape: 'oneStage', ended: { status: 'FAILED', reason: 'exit 1 \u0000\ud83d' } },
];

function reportsOf(jobId: string, ended: JobReport['ended']): JobReport {
  return { jobId, runningAt: ranAt, ended, endedAt };
}

/** Runs the reports of each tree together, returning the drafts committed (by root). */
async function together(trees: Tree[], sideEffect?: (rootId: string) => Promise<void>) {
  const drafts = new Map<string, Draft>();
  const results = await runTransitionsTogether(
    w.db,
    w.config,
    trees.map(({ rootId, jobId, ended }) => ({
      locator: { jobId, rootPipelineId: rootId },
      step: async (draft: Draft, ctx: EngineContext) => {
        drafts.set(rootId, draft);
        const job = draft.tree.jobs.get(jobId)!;
        onJobRunning(draft, job);
        job.runningAt = new Date(ranAt);
        if (ended!.reason !== undefined) job.failureReason = ended!.reason;
        await onJobEnded(draft, ctx, job, ended!.status, ended!.outputs);
        job.finishedAt = new Date(endedAt);
        await sideEffect?.(rootId);
      },
    })),
    now,
  );
  return { results, drafts };
}

/** Every row of the trees, as stored. */
async function stored(rootIds: string[]) {
  const inTrees = sql`(select id from pipelines where root_pipeline_id = any(${uuids(rootIds)}::uuid[]))`;
  return {
    pipelines: await w.db
      .select()
      .from(pipelines)
      .where(sql`${pipelines.rootPipelineId} = any(${uuids(rootIds)}::uuid[])`)
      .orderBy(pipelines.id),
    nodes: await w.db.select().from(pipelineNodes).where(sql`${pipelineNodes.pipelineId} in ${inTrees}`).orderBy(pipelineNodes.id),
    jobs: await w.db.select().from(jobs).where(sql`${jobs.pipelineId} in ${inTrees}`).orderBy(jobs.id),
    events: await w.db.select().from(pipelineEvents).where(sql`${pipelineEvents.pipelineId} in ${inTrees}`).orderBy(pipelineEvents.id),
  };
}

/** A tree's rows with what differs between two equal runs (ids, creation times) taken out, in path order. */
function shapeOf(rows: Awaited<ReturnType<typeof stored>>, rootId: string) {
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
  // The commit's time and the agent's are the same in both runs; a creation time is not.
  const dateOf = (value: Date) =>
    value.getTime() === now.getTime() ? 'now' : value.getTime() >= ranAt - 180_000 && value.getTime() < now.getTime() ? value.toISOString() : 'created';
  const plain = (row: Record<string, unknown>) =>
    Object.fromEntries(
      Object.entries(row)
        .filter(([key]) => !['createdAt', 'queuedAt', 'inputs', 'template'].includes(key))
        .map(([key, value]) => [key, typeof value === 'string' && uuid.test(value) ? 'id' : value instanceof Date ? dateOf(value) : value]),
    );
  const nodes = rows.nodes.filter((node) => node.pipelineId === rootId);
  const pathOf = new Map(nodes.map((node) => [node.id, node.path]));
  return {
    pipeline: plain(rows.pipelines.find((row) => row.id === rootId)!),
    nodes: nodes.sort((a, b) => a.path.localeCompare(b.path)).map(plain),
    jobs: rows.jobs
      .filter((job) => job.pipelineId === rootId)
      .sort((a, b) => pathOf.get(a.nodeId)!.localeCompare(pathOf.get(b.nodeId)!))
      .map(plain),
    events: rows.events
      .filter((event) => event.pipelineId === rootId)
      .map((event) => ({ kind: event.kind, payload: JSON.stringify(event.payload).replace(/"[0-9a-f-]{36}"/g, '"id"') })),
  };
}

describe('several trees committed together', () => {
  it('writes every row as its draft holds it, and as tree-by-tree commits write it', async () => {
    const batch: Tree[] = [];
    const single: Tree[] = [];
    for (const { shape, ended } of cases) {
      batch.push({ ...(await started(shape)), ended });
      single.push({ ...(await started(shape)), ended });
    }
    const { results, drafts } = await together(batch);
    expect(results).toHaveLength(cases.length);
    for (const { rootId, jobId, ended } of single) await applyJobReports(w.db, w.config, rootId, [reportsOf(jobId, ended)], now);

    const written = await stored(batch.map((tree) => tree.rootId));
    // Each draft's rows, as the commit was to write them: every column but the version and update time.
    const without = ({ version: _version, updatedAt: _updatedAt, createdAt: _createdAt, inputs: _inputs, ...rest }: Record<string, unknown>) => rest;
    for (const draft of drafts.values()) {
      for (const [table, rows] of [
        ['pipelines', draft.tree.pipelines],
        ['nodes', draft.tree.nodes],
        ['jobs', draft.tree.jobs],
      ] as const) {
        for (const row of rows.values()) {
          const storedRow = (written[table] as { id: string }[]).find((candidate) => candidate.id === row.id) as Record<string, unknown>;
          // A lone surrogate or a NUL is written as U+FFFD (a text parameter writes a lone surrogate so; Postgres takes no NUL).
          const intended = without(row as unknown as Record<string, unknown>);
          if (typeof intended.failureReason === 'string') intended.failureReason = wellFormed(intended.failureReason);
          expect(without(storedRow), `${table} ${row.id}`).toEqual(intended);
          const changed = draft.changedPipelines.has(row.id) || draft.changedNodes.has(row.id) || draft.changedJobs.has(row.id);
          if (changed) expect(storedRow.updatedAt).toEqual(now);
        }
      }
    }
    const failed = written.jobs.find((job) => job.status === 'FAILED')!;
    expect(failed.failureReason).toBe('exit 1 \ufffd\ufffd');
    expect(written.jobs.find((job) => job.id === batch[0]!.jobId)!.outputs).toEqual({ x: { n: 1, s: 'é', nested: [null, true] } });
    // Each root moved on once for the commit, and once more when its own status changed.
    for (const { rootId } of batch) {
      const draft = drafts.get(rootId)!;
      const root = written.pipelines.find((row) => row.id === rootId)!;
      expect(root.version).toBe(draft.tree.rootVersion + 1 + (draft.changedPipelines.has(rootId) ? 1 : 0));
    }

    const separately = await stored(single.map((tree) => tree.rootId));
    for (const [index, { rootId }] of batch.entries()) {
      expect(shapeOf(written, rootId), cases[index]!.shape).toEqual(shapeOf(separately, single[index]!.rootId));
    }
    expect(written.pipelines.map((row) => row.status).sort()).toEqual(['FAILED', 'RUNNING', 'SUCCEEDED']);
  });

  it('a lost race of one tree fails the whole and writes nothing', async () => {
    const batch: Tree[] = [];
    for (const { shape, ended } of [...cases, ...cases]) batch.push({ ...(await started(shape)), ended });
    const before = await stored(batch.map((tree) => tree.rootId));
    const loser = batch[3]!.rootId;
    // Another transition of one tree commits while the batch is computed.
    const { results } = await together(batch, async (rootId) => {
      if (rootId === loser) await w.db.execute(sql`update pipelines set version = version + 1 where id = ${loser}`);
    });
    expect(results).toBeNull();
    const after = await stored(batch.map((tree) => tree.rootId));
    const bump = (rows: typeof before.pipelines) => rows.map((row) => (row.id === loser ? { ...row, version: row.version + 1 } : row));
    expect(after.pipelines).toEqual(bump(before.pipelines));
    expect(after.nodes).toEqual(before.nodes);
    expect(after.jobs).toEqual(before.jobs);
    expect(after.events).toEqual(before.events);
  });

  it("gives a project's events ids increasing in commit order: tree after tree, each in its own order", async () => {
    const batch: Tree[] = [];
    for (const { shape, ended } of [...cases, ...cases]) batch.push({ ...(await started(shape)), ended });
    const { results, drafts } = await together(batch);
    expect(results).not.toBeNull();
    const expected = [...drafts.values()]
      .sort((a, b) => (a.tree.rootId < b.tree.rootId ? -1 : 1))
      .flatMap((draft) => draft.events.map((event) => ({ kind: event.kind, pipelineId: event.pipelineId, jobId: event.jobId, payload: event.payload })));
    const { events } = await stored(batch.map((tree) => tree.rootId));
    const committed = events.filter((event) => event.createdAt.getTime() === Math.max(...events.map((row) => row.createdAt.getTime())));
    expect(committed.map(({ kind, pipelineId, jobId, payload }) => ({ kind, pipelineId, jobId, payload }))).toEqual(expected);
    expect(new Set(committed.map((event) => event.createdAt.getTime())).size).toBe(1);
    expect(expected.length).toBeGreaterThan(batch.length * 3);
  });
});

describe('loading several trees', () => {
  it('fails with NOT_FOUND when one tree is missing, naming what was located', async () => {
    const present = await started('oneStage');
    const missing = { jobId: crypto.randomUUID(), rootPipelineId: crypto.randomUUID() };
    await expect(loadTrees(w.db, [{ jobId: present.jobId, rootPipelineId: present.rootId }, missing])).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'Job not found',
    });
    await expect(loadTrees(w.db, [{ nodeId: crypto.randomUUID() }, { jobId: present.jobId }])).rejects.toMatchObject({ message: 'Pipeline node not found' });
    await expect(loadTrees(w.db, [{ jobId: 'not-an-id', rootPipelineId: present.rootId }])).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('finds an object named with another tree’s root in its own tree, and gives each locator a tree of its own', async () => {
    const a = await started('twoStages');
    const b = await started('oneStage');
    const [wrongRoot, byRoot, again, byObject] = await loadTrees(w.db, [
      { jobId: a.jobId, rootPipelineId: b.rootId },
      { jobId: b.jobId, rootPipelineId: b.rootId },
      { pipelineId: b.rootId, rootPipelineId: b.rootId },
      { jobId: a.jobId },
    ]);
    expect(wrongRoot!.rootId).toBe(a.rootId);
    expect(byRoot!.rootId).toBe(b.rootId);
    expect(again!.rootId).toBe(b.rootId);
    expect(again!.pipelines.get(b.rootId)).not.toBe(byRoot!.pipelines.get(b.rootId));
    expect(again!.pipelines.get(b.rootId)).toEqual(byRoot!.pipelines.get(b.rootId));
    expect(byObject!.jobs.get(a.jobId)).toEqual(wrongRoot!.jobs.get(a.jobId));
    const single = await loadTree(w.db, { jobId: a.jobId, rootPipelineId: a.rootId });
    expect([...single.nodes.keys()].sort()).toEqual([...wrongRoot!.nodes.keys()].sort());
    expect(single.rootVersion).toBe(wrongRoot!.rootVersion);
    expect(single.jobs.get(a.jobId)!.inputs).toBe('');
  });
});
