// The dispatch marks the jobs a queue acknowledged (`markDispatched`) locking them in id order, as
// every engine commit and lease write does (lock-order.ts; the dispatch's routing and the unrouting
// lock the same way). A transaction of this file holds the job with the smallest id, as a commit
// that locks jobs in id order holds its first one; the mark, run through the bridge as the Worker
// runs it, must then wait holding none of the others, or the commit's next lock would close a
// deadlock. Rows are inserted in random id order, so their order on disk (the order a
// bitmap scan of `id = any(…)` locks them in) is not their id order.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDatabase, type HttpDatabase } from '../../src/db/client';
import { markDispatched } from '../../src/domain/jobs/dispatch';
import { insertBarePipeline } from '../support/pipeline-templates';
import { createTestDatabase, type TestDatabase } from '../support/node-database';

let database: TestDatabase;
let db: HttpDatabase;
let holder: pg.Client;
let agentId: string;
const jobIds: string[] = [];
const jobCount = 200;

beforeAll(async () => {
  database = await createTestDatabase();
  db = createDatabase({ connectionString: database.url, proxyUrl: inject('database').bridgeUrl }).http;
  const organizationId = (await database.query<{ id: string }>(`insert into organizations (name) values ('acme') returning id`)).rows[0]!.id;
  const projectId = (await database.query<{ id: string }>(`insert into projects (organization_id, name) values ($1, 'web') returning id`, [organizationId]))
    .rows[0]!.id;
  agentId = (await database.query<{ id: string }>(`insert into agents (organization_id, name) values ($1, 'runner') returning id`, [organizationId])).rows[0]!
    .id;
  const pipelineId = crypto.randomUUID();
  const firstJob = crypto.randomUUID();
  await insertBarePipeline(db, { organizationId, projectId }, pipelineId, firstJob);
  const [node] = (await database.query<{ node_id: string }>('select node_id from jobs where id = $1', [firstJob])).rows;
  jobIds.push(firstJob);
  for (let index = 1; index < jobCount; index += 1) jobIds.push(crypto.randomUUID());
  await database.query(
    `insert into jobs (id, organization_id, project_id, pipeline_id, node_id, inputs, max_duration_seconds, attempt)
     select id, $2, $3, $4, $5, 'sealed', 3600, 1 from unnest($1::uuid[]) as id`,
    [jobIds.slice(1), organizationId, projectId, pipelineId, node!.node_id],
  );
  await database.query('update jobs set agent_id = $1', [agentId]);
  await database.query('analyze jobs');
  holder = new pg.Client({ connectionString: database.url });
  await holder.connect();
});

afterAll(async () => {
  await holder?.end();
});

describe('markDispatched', () => {
  it('waits for a job a commit holds without holding any of the others (locks in id order)', async () => {
    const sorted = [...jobIds].sort();
    // Not in id order on disk, or the test would prove nothing.
    const onDisk = (await database.query<{ id: string }>('select id from jobs order by ctid')).rows.map((row) => row.id);
    expect(onDisk).not.toEqual(sorted);

    await holder.query('begin');
    await holder.query('select 1 from jobs where id = $1 for update', [sorted[0]]);
    const mark = markDispatched(db, agentId, jobIds);
    let markError: unknown;
    mark.catch((error: unknown) => (markError = error));
    // The mark is waiting on the held job.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const waiting = await database.query<{ count: number }>(
        `select count(*)::int as count from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like '%dispatched_at = now()%'`,
      );
      if (waiting.rows[0]!.count > 0) break;
      if (Date.now() > deadline || markError) throw new Error(`the mark never waited on the held job: ${String(markError)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // Every other job is free: the commit's next locks would not wait on the mark.
    const taken = await holder.query('select id from jobs where id = any($1::uuid[]) for update nowait', [sorted.slice(1)]);
    expect(taken.rowCount).toBe(jobCount - 1);
    await holder.query('commit');

    await mark;
    const marked = await database.query<{ count: number }>('select count(*)::int as count from jobs where dispatched_at is not null');
    expect(marked.rows[0]!.count).toBe(jobCount);
  });

  it('marks only the jobs routed to that agent', async () => {
    const other = crypto.randomUUID();
    await database.query('update jobs set dispatched_at = null');
    await database.query('update jobs set agent_id = null where id = $1', [jobIds[0]]);
    await markDispatched(db, agentId, [...jobIds, other]);
    const rows = await database.query<{ id: string }>('select id from jobs where dispatched_at is null');
    expect(rows.rows.map((row) => row.id)).toEqual([jobIds[0]]);
  });
});
