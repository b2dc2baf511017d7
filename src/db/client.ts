// The Worker's only path to Postgres: @neondatabase/serverless. One-shot reads and batched writes go
// over Neon's HTTP query endpoint (no connection handshake per request); interactive transactions
// open one WebSocket connection for their duration. A request never holds more than one connection.
import { neon, neonConfig, Pool } from '@neondatabase/serverless';
import { drizzle as drizzleHttp, type NeonHttpDatabase } from 'drizzle-orm/neon-http';
import { drizzle as drizzleWebSocket, type NeonDatabase } from 'drizzle-orm/neon-serverless';
import * as schema from './schema';

export type Schema = typeof schema;
export type HttpDatabase = NeonHttpDatabase<Schema>;
export type TransactionDatabase = NeonDatabase<Schema>;
export type Transaction = Parameters<Parameters<TransactionDatabase['transaction']>[0]>[0];

export interface Database {
  /** Stateless queries over HTTP; `db.batch([...])` runs several statements as one transaction. */
  http: HttpDatabase;
  /** An interactive transaction over a WebSocket connection opened for it and closed after. */
  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T>;
}

let configuredProxy: string | undefined;

/**
 * Points the driver at a Neon-compatible proxy (the local bridge in development). Neon's
 * fetchEndpoint is process-global, so this is set once per isolate.
 */
function useProxy(proxyUrl: string | undefined): void {
  if (!proxyUrl || configuredProxy === proxyUrl) return;
  const url = new URL(proxyUrl);
  neonConfig.fetchEndpoint = `${proxyUrl}/sql`;
  neonConfig.wsProxy = `${url.host}/v2`;
  neonConfig.useSecureWebSocket = url.protocol === 'https:';
  // The bridge forwards raw bytes to a plain server: no TLS inside the tunnel, and no pipelining
  // (pipelined connect only works with cleartext password auth, which Neon's proxy provides).
  neonConfig.forceDisablePgSSL = true;
  neonConfig.pipelineConnect = false;
  configuredProxy = proxyUrl;
}

export interface DatabaseOptions {
  connectionString: string;
  proxyUrl?: string;
}

export function createDatabase(options: DatabaseOptions): Database {
  useProxy(options.proxyUrl);
  // The HTTP client holds no connection, so one handle serves every request of an isolate.
  const client = neon(options.connectionString);
  return {
    http: drizzleHttp({ client, schema }),
    async transaction(work) {
      const pool = new Pool({ connectionString: options.connectionString, max: 1 });
      try {
        return await drizzleWebSocket({ client: pool, schema }).transaction(work);
      } finally {
        await pool.end();
      }
    },
  };
}
