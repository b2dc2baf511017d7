// The agent queue's tables: a queue written by an older build (rowid tables, columns added later by
// ALTER) keeps every row when a newer build opens it and rebuilds its small-row tables WITHOUT ROWID.
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { AgentQueue } from '../../src/durable/agent-queue';
import type { WorkerEnv } from '../../src/env';
import { prepareQueueStorage } from '../../src/durable/agent-queue-storage';

/** The tables as the first builds wrote them, before their later columns, with a row each. */
const olderLayout = `
  drop table if exists queued; drop table if exists leases; drop table if exists flow; drop table if exists done;
  create table queued (job_id text primary key, enqueued_at integer not null);
  create index queued_order on queued (enqueued_at, job_id);
  create table leases (
    job_id text primary key, lease_id text not null, session_id text not null,
    expires_at integer not null, lease_count integer not null, cancel integer not null default 0
  );
  create index leases_session on leases (session_id);
  create index leases_expiry on leases (expires_at);
  create table flow (
    job_id text primary key, lease_id text not null, session_id text not null, granted integer not null default 0,
    root_id text, project_id text, max_duration_seconds integer, running_at integer, running_flushed integer not null default 0,
    ended text, ended_at integer, logged integer not null default 0
  );
  create table done (job_id text primary key, at integer not null);
  insert into queued values ('job-q', 5);
  insert into leases values ('job-l', 'lease-1', 'session-1', 1000, 2, 1);
  insert into flow (job_id, lease_id, session_id, granted, running_at, ended) values ('job-l', 'lease-1', 'session-1', 1, 700, '{"status":"FINISHED"}');
  insert into done values ('job-d', 9);`;

/** The columns later builds added by ALTER, filled in, as a queue written by them has them. */
const laterColumns = `
  alter table queued add column max_duration_seconds integer;
  alter table flow add column settled text;
  update queued set max_duration_seconds = 600;
  update flow set settled = 'CANCELED';`;

function queue(): DurableObjectStub<AgentQueue> {
  const queues = (env as unknown as WorkerEnv).AGENT_QUEUE;
  return queues.get(queues.idFromName(`storage-${crypto.randomUUID()}`)) as unknown as DurableObjectStub<AgentQueue>;
}

/** The job tables and their indexes as a queue has them now. */
const currentLayout = {
  queued: 'without rowid',
  queued_order: 'index',
  leases: 'without rowid',
  leases_session: 'index',
  leases_expiry: 'index',
  // Its rows carry a job's outputs (up to 1 MB): a rowid table (agent-queue-storage.ts says why).
  flow: 'rowid',
  done: 'without rowid',
  logged_jobs: 'without rowid',
};

const layoutOf = (sql: SqlStorage) =>
  Object.fromEntries(
    sql
      .exec<{ name: string; sql: string }>("select name, sql from sqlite_master where type in ('table', 'index') and sql is not null order by name")
      .toArray()
      .map((row) => [row.name, /without\s+rowid/i.test(row.sql) ? 'without rowid' : row.sql.startsWith('CREATE INDEX') ? 'index' : 'rowid']),
  );

describe('agent queue storage', () => {
  it('a new queue has its small-row job tables WITHOUT ROWID and its flow a rowid table, with their indexes', async () => {
    await runInDurableObject(queue(), (_instance, state) => {
      expect(layoutOf(state.storage.sql)).toMatchObject(currentLayout);
    });
  });

  it.each([
    { written: 'by the first builds', layout: olderLayout, maxDuration: null, settled: null },
    { written: 'with the columns added later', layout: olderLayout + laterColumns, maxDuration: 600, settled: 'CANCELED' },
  ])('a queue written $written keeps every row when its tables are rebuilt; preparing again changes nothing', async ({ layout, maxDuration, settled }) => {
    const stub = queue();
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec(layout);
      expect(layoutOf(state.storage.sql)).toMatchObject({ queued: 'rowid', leases: 'rowid', flow: 'rowid', done: 'rowid' });
      prepareQueueStorage(state.storage);
      prepareQueueStorage(state.storage);
      const sql = state.storage.sql;
      expect(layoutOf(sql)).toMatchObject(currentLayout);
      expect(sql.exec('select * from queued').toArray()).toEqual([{ job_id: 'job-q', enqueued_at: 5, max_duration_seconds: maxDuration }]);
      expect(sql.exec('select * from leases').toArray()).toEqual([
        { job_id: 'job-l', lease_id: 'lease-1', session_id: 'session-1', expires_at: 1000, lease_count: 2, cancel: 1 },
      ]);
      expect(sql.exec('select * from done').toArray()).toEqual([{ job_id: 'job-d', at: 9 }]);
      expect(sql.exec('select * from flow').toArray()).toEqual([
        {
          job_id: 'job-l',
          lease_id: 'lease-1',
          session_id: 'session-1',
          granted: 1,
          root_id: null,
          project_id: null,
          max_duration_seconds: null,
          running_at: 700,
          running_flushed: 0,
          ended: '{"status":"FINISHED"}',
          ended_at: null,
          logged: 0,
          settled,
        },
      ]);
    });
    // The queue reads the rebuilt tables as before.
    const state = await stub.state();
    expect(state.queued).toEqual([{ jobId: 'job-q', enqueuedAt: 5 }]);
    expect(state.leases).toEqual([{ jobId: 'job-l', leaseId: 'lease-1', sessionId: 'session-1', expiresAt: 1000, leaseCount: 2, cancel: true }]);
    expect(state.reporting).toEqual(['job-l']);
  });
});
