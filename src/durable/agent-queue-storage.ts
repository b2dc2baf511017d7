// The AgentQueue's SQLite tables (agent-queue.ts says what each holds), created on first use and
// brought up to date from every layout a queue may have been written in.
//
// The tables with small rows keyed by job id are WITHOUT ROWID: a rowid table keyed by text keeps
// each row twice (the table by rowid, and the key's index), so every insert and delete on the job
// path touched two b-trees where one will do. Queues written before keep their rows: each such table
// is rebuilt once, in one transaction, the first time a newer build opens the queue.

/** A `flow` row as SQLite returns it. */
export type FlowRow = {
  job_id: string;
  lease_id: string;
  session_id: string;
  granted: number;
  root_id: string | null;
  project_id: string | null;
  max_duration_seconds: number | null;
  running_at: number | null;
  running_flushed: number;
  ended: string | null;
  ended_at: number | null;
  logged: number;
  settled: string | null;
};

/**
 * `flow.granted` of a lease whose grant Postgres refused because the job had ended there meanwhile
 * (canceled while still QUEUED, before the write-behind wrote the grant): nothing is owed to Postgres,
 * and the lease lives on, asked to stop, only so that its holder hears `cancel` (not `lost`) and
 * reports its end. `flow.settled` keeps the status Postgres has.
 */
export const grantSettled = 2;

interface TableLayout {
  /** Column definitions; the first word of each is its name. Columns are only ever added, nullable or with a default. */
  columns: string[];
  withoutRowid: boolean;
  indexes: string[];
}

const jobTables: Record<string, TableLayout> = {
  queued: {
    columns: ['job_id text primary key', 'enqueued_at integer not null', 'max_duration_seconds integer'],
    withoutRowid: true,
    // A grant takes the oldest queued jobs: read in this order, a backlog of thousands is not scanned and sorted per grant.
    indexes: ['create index if not exists queued_order on queued (enqueued_at, job_id)'],
  },
  leases: {
    columns: [
      'job_id text primary key',
      'lease_id text not null',
      'session_id text not null',
      'expires_at integer not null',
      'lease_count integer not null',
      'cancel integer not null default 0',
    ],
    withoutRowid: true,
    indexes: ['create index if not exists leases_session on leases (session_id)', 'create index if not exists leases_expiry on leases (expires_at)'],
  },
  // A flow row carries the job's end with its outputs (up to 1 MB), so it stays a rowid table: a
  // large row spills onto overflow pages, which a rowid table reads only when that row is read,
  // while a WITHOUT ROWID table's rows are its keys, read whole by every seek that compares with them.
  flow: {
    columns: [
      'job_id text primary key',
      'lease_id text not null',
      'session_id text not null',
      'granted integer not null default 0',
      'root_id text',
      'project_id text',
      'max_duration_seconds integer',
      'running_at integer',
      'running_flushed integer not null default 0',
      'ended text',
      'ended_at integer',
      'logged integer not null default 0',
      'settled text',
    ],
    withoutRowid: false,
    indexes: [],
  },
  done: { columns: ['job_id text primary key', 'at integer not null'], withoutRowid: true, indexes: [] },
  // Jobs a lease that is over logged for (its flow row, and `flow.logged` with it, went with the
  // lease): the job's next lease here starts out logged, and its end completes the log.
  logged_jobs: { columns: ['job_id text primary key', 'at integer not null'], withoutRowid: true, indexes: [] },
};

const nameOf = (definition: string) => definition.split(' ')[0]!;

export function prepareQueueStorage(storage: DurableObjectStorage): void {
  const sql = storage.sql;
  storage.transactionSync(() => {
    sql.exec('create table if not exists meta (key text primary key, value text not null)');
    // Every table's definition in one read: this runs each time the queue's object starts.
    const existing = new Map(
      sql
        .exec<{ name: string; sql: string }>("select name, sql from sqlite_master where type = 'table'")
        .toArray()
        .map((table) => [table.name, table.sql]),
    );
    for (const [name, layout] of Object.entries(jobTables)) {
      const definition = existing.get(name);
      if (definition === undefined) sql.exec(createTable(name, layout));
      else if (layout.withoutRowid && !/without\s+rowid/i.test(definition)) rebuildWithoutRowid(sql, name, layout);
      else addMissingColumns(sql, name, layout);
      for (const index of layout.indexes) sql.exec(index);
    }
  });
}

function createTable(name: string, layout: TableLayout): string {
  return `create table ${name} (${layout.columns.join(', ')})${layout.withoutRowid ? ' without rowid' : ''}`;
}

function columnsOf(sql: SqlStorage, name: string): string[] {
  return sql
    .exec<{ name: string }>(`pragma table_info(${name})`)
    .toArray()
    .map((column) => column.name);
}

/** Columns added to the layout since the table was created (each nullable or with a default, so ALTER can add it). */
function addMissingColumns(sql: SqlStorage, name: string, layout: TableLayout): void {
  const has = new Set(columnsOf(sql, name));
  for (const definition of layout.columns) if (!has.has(nameOf(definition))) sql.exec(`alter table ${name} add column ${definition}`);
}

/**
 * The table's rows into a WITHOUT ROWID table of the current layout, which takes its name (its old
 * indexes go with it). Columns are only ever added, so every column the old table has is in the new
 * one; those added since start out null or at their default. A rowid table let a text key be null,
 * which a WITHOUT ROWID one refuses: such a row (none is ever written) is left behind rather than
 * failing the rebuild, and with it every start of the queue.
 */
function rebuildWithoutRowid(sql: SqlStorage, name: string, layout: TableLayout): void {
  const copied = columnsOf(sql, name).join(', ');
  sql.exec(createTable(`${name}_rebuilt`, layout));
  sql.exec(`insert into ${name}_rebuilt (${copied}) select ${copied} from ${name} where ${nameOf(layout.columns[0]!)} is not null`);
  sql.exec(`drop table ${name}`);
  sql.exec(`alter table ${name}_rebuilt rename to ${name}`);
}
