// Writers of many jobs lock them in id order, as every engine commit does (lock-order.ts): the
// dispatch marking jobs handed to their queue (`markDispatched`; its routing and the unrouting lock
// the same way) and a queue's grant (`grantJobs`). A transaction of this file holds the job with the
// smallest id, as a commit that locks jobs in id order holds its first one; the write, run through
// the bridge as the Worker runs it, must then wait holding none of the others, or the commit's next
// lock would close a deadlock. Rows are inserted in random id order, so their order on disk (the
// order a bitmap scan of `id = any(…)` locks them in) is not their id order.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDatabase, type HttpDatabase } from '../../src/db/client';
import { markDispatched } from '../../src/domain/jobs/dispatch';
import { grantJobs } from '../../src/domain/jobs/lease-writes';
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
  const ids = Array.from({ length: jobCount }, () => crypto.randomUUID()).sort();
  // The smallest id goes on disk last: a write that locks in disk order takes every other job first.
  const [smallest, ...rest] = ids;
  const firstJob = rest[0]!;
  await insertBarePipeline(db, { organizationId, projectId }, pipelineId, firstJob);
  const [node] = (await database.query<{ node_id: string }>('select node_id from jobs where id = $1', [firstJob])).rows;
  await database.query(
    `insert into jobs (id, organization_id, project_id, pipeline_id, node_id, inputs, max_duration_seconds, attempt)
     select id, $2, $3, $4, $5, 'sealed', 3600, 1 from unnest($1::uuid[]) with ordinality as given(id, position) order by position`,
    [[...rest.slice(1), smallest], organizationId, projectId, pipelineId, node!.node_id],
  );
  jobIds.push(...rest, smallest!);
  await database.query('update jobs set agent_id = $1', [agentId]);
  await database.query('analyze jobs');
  holder = new pg.Client({ connectionString: database.url });
  await holder.connect();
});

afterAll(async () => {
  await holder?.end();
});

/**
 * Holds the job with the smallest id, runs `write` (through the bridge) until PostgreSQL shows it
 * waiting on that lock (its statement matching `statement`), then takes every other job with
 * NOWAIT: refused if `write` holds any of them. Lets `write` finish and returns what it returned.
 */
async function waitsHoldingNoneOfTheOthers<T>(write: () => Promise<T>, statement: string): Promise<T> {
  const sorted = [...jobIds].sort();
  let running: Promise<T> | undefined;
  await holder.query('begin');
  try {
    await holder.query('select 1 from jobs where id = $1 for update', [sorted[0]]);
    running = write();
    let failure: unknown;
    running.catch((error: unknown) => (failure = error));
    const deadline = Date.now() + 10_000;
    for (;;) {
      const waiting = await database.query<{ count: number }>(
        `select count(*)::int as count from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like $1`,
        [`%${statement}%`],
      );
      if (waiting.rows[0]!.count > 0) break;
      if (Date.now() > deadline || failure) throw new Error(`the write never waited on the held job: ${String(failure)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const taken = await holder.query('select id from jobs where id = any($1::uuid[]) for update nowait', [sorted.slice(1)]);
    expect(taken.rowCount).toBe(jobCount - 1);
    await holder.query('commit');
    return await running;
  } catch (error) {
    await holder.query('rollback').catch(() => undefined);
    // The write goes on once the lock is gone: let it end before the next test reads the rows.
    await Promise.race([running?.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 5_000))]);
    throw error;
  }
}

describe('writers of many jobs lock them in id order', () => {
  it('the job with the smallest id is the last on disk (or this file would prove nothing)', async () => {
    const onDisk = (await database.query<{ id: string }>('select id from jobs order by ctid')).rows.map((row) => row.id);
    expect(onDisk.at(-1)).toBe([...jobIds].sort()[0]);
  });

  it('the dispatch marking jobs handed to their queue', async () => {
    await waitsHoldingNoneOfTheOthers(() => markDispatched(db, agentId, jobIds), 'dispatched_at = now()');
    const marked = await database.query<{ count: number }>('select count(*)::int as count from jobs where dispatched_at is not null');
    expect(marked.rows[0]!.count).toBe(jobCount);
  });

  it('a queue granting jobs (QUEUED → PENDING)', async () => {
    const sessionId = (await database.query<{ id: string }>('insert into agent_sessions (agent_id) values ($1) returning id', [agentId])).rows[0]!.id;
    const granted = await waitsHoldingNoneOfTheOthers(() => grantJobs(db, jobIds, { agentId, sessionId }), "status = 'PENDING'");
    expect(granted).toHaveLength(jobCount);
    await database.query(`update jobs set status = 'QUEUED', session_id = null, pending_at = null`);
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
