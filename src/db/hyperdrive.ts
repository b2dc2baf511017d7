// The Worker's other path to PostgreSQL: a Hyperdrive binding (`HYPERDRIVE` in wrangler.toml), reached
// with node-postgres over the Workers TCP socket API; Hyperdrive pools the connections to the database.
// The handle has the Neon HTTP handle's shape, so the domain code is the same on both paths:
// `db.batch([...])` runs its statements in order inside BEGIN … COMMIT on one connection (ROLLBACK
// when one fails, so nothing is half-written), as Neon's batch runs them as one transaction.
//
// A socket is an I/O object of the request that opened it, and Workers refuse to use it from another
// request. So connections belong to a scope (inDatabaseScope) — a request, a cron run, a pipeline
// tree's transition, the event hub's alarm — opened when the scope first queries, at most five at a
// time (a Worker invocation may hold six sockets), and closed when the scope ends (through waitUntil). A query
// outside any scope, or after its scope ended (a streamed response, work left to waitUntil), gets a
// connection of its own, closed as soon as it is answered.
import { AsyncLocalStorage } from 'node:async_hooks';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import type { Span } from '@opentelemetry/api';
import { endFailed, isTraced, startClientSpan } from '../platform/tracing/spans';
import type { HttpDatabase } from './client';
import * as schema from './schema';

/** The part of a Hyperdrive binding the client reads: its connection string, read when a connection opens. */
export interface HyperdriveBinding {
  readonly connectionString: string;
}

/** Connections a scope may hold at once: one under the six simultaneous sockets a Worker invocation may open. */
const connectionsPerScope = 5;

class DatabaseScope {
  #pools = new Map<string, pg.Pool>();
  #ended = false;

  /** The scope's pool for `connectionString`, or undefined once the scope has ended. */
  pool(connectionString: string): pg.Pool | undefined {
    if (this.#ended) return undefined;
    let pool = this.#pools.get(connectionString);
    if (!pool) {
      pool = new pg.Pool({ connectionString, max: connectionsPerScope });
      // An idle connection the server dropped: the pool discards it; the next query opens another.
      pool.on('error', () => {});
      this.#pools.set(connectionString, pool);
    }
    return pool;
  }

  /** Ends every connection once it is idle (queries already sent are answered first). */
  end(): Promise<unknown> {
    this.#ended = true;
    return Promise.allSettled([...this.#pools.values()].map((pool) => pool.end()));
  }
}

const scopes = new AsyncLocalStorage<DatabaseScope>();

/**
 * Runs `work` (a request's handler, a cron run) as one connection scope; its connections are closed
 * through `waitUntil` when `work` settles. On the Neon HTTP path nothing is ever opened, so the
 * scope is one small object there.
 */
export function inDatabaseScope<T>(waitUntil: (promise: Promise<unknown>) => void, work: () => T | Promise<T>): Promise<T> {
  const scope = new DatabaseScope();
  return scopes.run(scope, async () => {
    try {
      return await work();
    } finally {
      waitUntil(scope.end());
    }
  });
}

/** The connection a batch runs on: every statement of the batch goes to it, and nothing else does. */
interface RunningBatch {
  connection: pg.ClientBase;
  /** Each statement's first keyword, for the batch's span. */
  kinds: string[];
}

const runningBatches = new AsyncLocalStorage<RunningBatch>();

async function withOwnConnection<T>(connectionString: string, use: (client: pg.ClientBase) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString });
  client.on('error', () => {});
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end().catch(() => {});
  }
}

async function withScopeConnection<T>(connectionString: string, use: (client: pg.ClientBase) => Promise<T>): Promise<T> {
  const pool = scopes.getStore()?.pool(connectionString);
  if (!pool) return withOwnConnection(connectionString, use);
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    return await use(client);
  } catch (error) {
    // A connection that failed mid-batch (not a statement refused by the server) is not reused.
    if (!(error instanceof pg.DatabaseError) && !(error instanceof Error && error.cause instanceof pg.DatabaseError)) broken = error as Error;
    throw error;
  } finally {
    client.release(broken);
  }
}

// The first keyword of a statement (SELECT, INSERT, WITH, …), for its span; never its values.
const firstKeyword = /^[\s(]*([A-Za-z]+)/;

function statementKind(text: string): string {
  return firstKeyword.exec(text)?.[1]?.toUpperCase() ?? 'QUERY';
}

interface Tracing {
  traced: boolean;
  host: () => string;
}

function querySpan(tracing: Tracing, operation: string): Span | undefined {
  if (!tracing.traced || !isTraced()) return undefined;
  return startClientSpan(`postgresql ${operation}`, { 'db.system.name': 'postgresql', 'db.operation.name': operation, 'server.address': tracing.host() });
}

async function traced<T>(span: Span | undefined, run: () => Promise<T>): Promise<T> {
  if (!span) return run();
  try {
    const result = await run();
    span.end();
    return result;
  } catch (error) {
    endFailed(span, error);
    throw error;
  }
}

type QueryConfig = pg.QueryConfig & { name?: string };

/**
 * What drizzle's node-postgres session is given as its client: each query goes to the running
 * batch's connection, else to one of the scope's. drizzle names prepared queries (prepared.ts);
 * the name is dropped, so no server-side statement outlives the query (a label only, as on Neon).
 */
class ScopedClient {
  constructor(
    private readonly connectionString: () => string,
    private readonly tracing: Tracing,
  ) {}

  query(config: QueryConfig, values?: unknown[]): Promise<pg.QueryResult> {
    const { name: _label, ...statement } = config;
    const batch = runningBatches.getStore();
    if (batch) {
      batch.kinds.push(statementKind(statement.text));
      return batch.connection.query(statement, values);
    }
    const connectionString = this.connectionString();
    const pool = scopes.getStore()?.pool(connectionString);
    return traced(querySpan(this.tracing, statementKind(statement.text)), () =>
      pool ? pool.query(statement, values) : withOwnConnection(connectionString, (client) => client.query(statement, values)),
    );
  }

  /** `db.batch([...])`: the statements in order, as one transaction on one connection. */
  async batch(statements: readonly PromiseLike<unknown>[]): Promise<unknown[]> {
    const span = querySpan(this.tracing, 'BATCH');
    span?.setAttribute('db.operation.batch.size', statements.length);
    return traced(span, () =>
      withScopeConnection(this.connectionString(), async (connection) => {
        const batch: RunningBatch = { connection, kinds: [] };
        await connection.query('begin');
        try {
          const results: unknown[] = [];
          for (const statement of statements) {
            // `then` is called inside run(), so the statement's query sees this batch's connection.
            results.push(await runningBatches.run(batch, () => new Promise((resolve, reject) => statement.then(resolve, reject))));
          }
          await connection.query('commit');
          return results;
        } catch (error) {
          await connection.query('rollback').catch(() => {});
          throw error;
        } finally {
          span?.setAttribute('phobos.db.statements', batch.kinds);
        }
      }),
    );
  }
}

export interface HyperdriveDatabaseOptions {
  hyperdrive: HyperdriveBinding;
  traced?: boolean;
}

/** The handle for a Hyperdrive binding, with the Neon HTTP handle's interface (see the top of this file). */
export function createHyperdriveDatabase(options: HyperdriveDatabaseOptions): HttpDatabase {
  const connectionString = () => options.hyperdrive.connectionString;
  const client = new ScopedClient(connectionString, { traced: options.traced ?? false, host: () => new URL(connectionString()).hostname });
  const db = drizzle({ client: client as unknown as pg.Client, schema });
  // The batch's result for each statement is what awaiting the statement gives, as with Neon's batch.
  return Object.assign(db, { batch: (statements: readonly PromiseLike<unknown>[]) => client.batch(statements) }) as unknown as HttpDatabase;
}
