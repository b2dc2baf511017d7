// The AgentQueue's SQLite tables (agent-queue.ts says what each holds), created on first use and
// brought up to date from every layout a queue may have been written in.
//
// The tables keyed by job id are WITHOUT ROWID: a rowid table keyed by text keeps each row twice
// (the table by rowid, and the key's index), so every insert and delete on the job path touched two
// b-trees where one will do. Queues written before keep their rows: each such table is rebuilt once,
// in one transaction, the first time a newer build opens the queue.

/** Each job-keyed table as it is created now, with the indexes beside it. */
const jobTables = {
  queued: {
    columns: 'job_id text primary key, enqueued_at integer not null, max_duration_seconds integer',
    // A grant takes the oldest queued jobs: read in this order, a backlog of thousands is not scanned and sorted per grant.
    indexes: ['create index if not exists queued_order on queued (enqueued_at, job_id)'],
  },
  leases: {
    columns:
      'job_id text primary key, lease_id text not null, session_id text not null, expires_at integer not null, lease_count integer not null, cancel integer not null default 0',
    indexes: ['create index if not exists leases_session on leases (session_id)', 'create index if not exists leases_expiry on leases (expires_at)'],
  },
  flow: {
    columns:
      'job_id text primary key, lease_id text not null, session_id text not null, granted integer not null default 0, root_id text, project_id text, ' +
      'max_duration_seconds integer, running_at integer, running_flushed integer not null default 0, ended text, ended_at integer, ' +
      'logged integer not null default 0, settled text',
    indexes: [],
  },
  done: { columns: 'job_id text primary key, at integer not null', indexes: [] },
} as const;

export function prepareQueueStorage(storage: DurableObjectStorage): void {
  const sql = storage.sql;
  storage.transactionSync(() => {
    sql.exec('create table if not exists meta (key text primary key, value text not null)');
    for (const [name, table] of Object.entries(jobTables)) {
      const existing = sql.exec<{ sql: string }>("select sql from sqlite_master where type = 'table' and name = ?", name).toArray()[0];
      if (!existing) sql.exec(`create table ${name} (${table.columns}) without rowid`);
      else if (!/without\s+rowid/i.test(existing.sql)) rebuildWithoutRowid(sql, name, table.columns);
      for (const index of table.indexes) sql.exec(index);
    }
  });
}

/**
 * The table's rows into a WITHOUT ROWID table of the current layout, which takes its name (its old
 * indexes go with it). Columns only ever were added to these tables, so every column the old one has
 * is in the new one; those added since (a queue's `max_duration_seconds`, a flow's `settled`) start
 * out null, as the ALTERs that added them left older rows.
 */
function rebuildWithoutRowid(sql: SqlStorage, name: string, columns: string): void {
  const copied = sql
    .exec<{ name: string }>(`pragma table_info(${name})`)
    .toArray()
    .map((column) => column.name);
  sql.exec(`create table ${name}_rebuilt (${columns}) without rowid`);
  sql.exec(`insert into ${name}_rebuilt (${copied.join(', ')}) select ${copied.join(', ')} from ${name}`);
  sql.exec(`drop table ${name}`);
  sql.exec(`alter table ${name}_rebuilt rename to ${name}`);
}
