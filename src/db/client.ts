// The Worker's path to Postgres without a Hyperdrive binding (with one: hyperdrive.ts, behind the same
// interface): @neondatabase/serverless over Neon's HTTP query endpoint (no connection handshake per
// request, no connection held). Writes that must be atomic go as one
// `db.batch([...])`, which runs as one transaction; conditional statements (`insert … select … where`,
// `update … where version = …`) keep the decisions inside it. (The driver's WebSocket Pool would give
// interactive transactions; nothing needs one yet, and a socket cannot outlive its request.)
import { neon, neonConfig } from '@neondatabase/serverless';
import { drizzle as drizzleHttp, type NeonHttpDatabase } from 'drizzle-orm/neon-http';
import { fetchWithQuerySpan } from '../platform/tracing/database-queries';
import { createHyperdriveDatabase, type HyperdriveDatabaseOptions } from './hyperdrive';
import * as schema from './schema';

type Schema = typeof schema;
export type HttpDatabase = NeonHttpDatabase<Schema>;

export interface Database {
  /**
   * Queries over Neon's HTTP endpoint, or over a Hyperdrive binding's connections; on both,
   * `db.batch([...])` runs several statements as one transaction.
   */
  http: HttpDatabase;
}

let configuredProxy: string | undefined;

/**
 * Points the driver at a Neon-compatible proxy (the local bridge in development). Neon's
 * fetchEndpoint is process-global, so this is set once per isolate.
 */
function useProxy(proxyUrl: string | undefined): void {
  if (!proxyUrl || configuredProxy === proxyUrl) return;
  neonConfig.fetchEndpoint = `${proxyUrl}/sql`;
  configuredProxy = proxyUrl;
}

/**
 * A span per query (PHOBOS_OTEL_TRACE_ENABLED): the driver's fetch function is, like its endpoint,
 * process-global, so it is set once per isolate and only when tracing is on.
 */
function traceQueries(): void {
  neonConfig.fetchFunction = fetchWithQuerySpan;
}

export interface DatabaseOptions {
  connectionString: string;
  proxyUrl?: string;
  traced?: boolean;
}

export function createDatabase(options: DatabaseOptions | HyperdriveDatabaseOptions): Database {
  if ('hyperdrive' in options) return { http: createHyperdriveDatabase(options) };
  useProxy(options.proxyUrl);
  if (options.traced) traceQueries();
  // The HTTP client holds no connection, so one handle serves every request of an isolate.
  const client = neon(options.connectionString);
  return { http: drizzleHttp({ client, schema }) };
}
