// The local stand-in for Neon's proxy, so the Worker reaches a plain PostgreSQL server exactly as it
// reaches Neon in production (one database code path):
//   - WebSocket: `ws://<bridge>/v2?address=<host>:<port>` carries the raw Postgres wire protocol to a
//     TCP socket (what @neondatabase/serverless's Pool speaks, neonConfig.wsProxy).
//   - HTTP: `POST /sql` answers Neon's HTTP query format (neonConfig.fetchEndpoint), one query or a
//     batch run as one transaction, over a pool of persistent connections so a request pays no
//     connection or password handshake.
// Neon's own proxy is a Rust service that is not on npm; this small bridge is written by hand for
// that reason. It only forwards to the targets it was started with, and listens on loopback.
import { listenOn, readBody, sendJson } from './local-stack/http-json';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import pg from 'pg';
import { WebSocketServer, type WebSocket } from 'ws';

export interface DbBridgeOptions {
  /** Port to listen on; 0 picks a free one. */
  port?: number;
  host?: string;
  /** `host:port` pairs the bridge may connect to. Anything else is refused. */
  allowedTargets: string[];
  /** Connections per distinct connection string in the HTTP pool. */
  maxConnections?: number;
  /** Largest HTTP request body accepted, in bytes. */
  maxBodyBytes?: number;
}

export interface DbBridge {
  url: string;
  port: number;
  close(): Promise<void>;
}

interface NeonQuery {
  query: string;
  params?: unknown[];
}

const isolationLevels: Record<string, string> = {
  ReadUncommitted: 'READ UNCOMMITTED',
  ReadCommitted: 'READ COMMITTED',
  RepeatableRead: 'REPEATABLE READ',
  Serializable: 'SERIALIZABLE',
};

const postgresErrorFields = [
  'severity',
  'code',
  'detail',
  'hint',
  'position',
  'internalPosition',
  'internalQuery',
  'where',
  'schema',
  'table',
  'column',
  'dataType',
  'constraint',
  'file',
  'line',
  'routine',
] as const;

// Neon answers with column values as text and lets the client parse them by type OID, so the
// bridge must not parse them either.
const rawText = { getTypeParser: () => (value: string) => value };

function targetOf(connectionString: string): string {
  const url = new URL(connectionString);
  return `${url.hostname}:${url.port || '5432'}`;
}

function toNeonResult(result: pg.QueryResult<unknown[]>) {
  return {
    command: result.command,
    rowCount: result.rowCount,
    rows: result.rows,
    fields: result.fields.map((field) => ({
      name: field.name,
      tableID: field.tableID,
      columnID: field.columnID,
      dataTypeID: field.dataTypeID,
      dataTypeSize: field.dataTypeSize,
      dataTypeModifier: field.dataTypeModifier,
      format: field.format,
    })),
    rowAsArray: true,
  };
}

function toNeonError(error: unknown): Record<string, unknown> {
  const source = error as Record<string, unknown> & Error;
  const body: Record<string, unknown> = { message: source.message };
  for (const field of postgresErrorFields) {
    if (source[field] !== undefined) body[field] = source[field];
  }
  return body;
}

export async function startDbBridge(options: DbBridgeOptions): Promise<DbBridge> {
  const allowed = new Set(options.allowedTargets);
  const maxBodyBytes = options.maxBodyBytes ?? 16 * 1024 * 1024;
  const pools = new Map<string, pg.Pool>();
  const sockets = new Set<Socket>();

  const poolFor = (connectionString: string): pg.Pool => {
    let pool = pools.get(connectionString);
    if (!pool) {
      pool = new pg.Pool({ connectionString, max: options.maxConnections ?? 10, idleTimeoutMillis: 30_000 });
      // An idle connection dropped by the server must not crash the bridge; the pool replaces it.
      pool.on('error', () => undefined);
      pools.set(connectionString, pool);
    }
    return pool;
  };

  const runQuery = (client: pg.PoolClient | pg.Pool, q: NeonQuery) =>
    client.query<unknown[]>({ text: q.query, values: q.params ?? [], rowMode: 'array', types: rawText });

  const handleSql = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const connectionString = req.headers['neon-connection-string'];
    if (typeof connectionString !== 'string') {
      return sendJson(res, 400, { message: 'missing Neon-Connection-String header' });
    }
    let target: string;
    try {
      target = targetOf(connectionString);
    } catch {
      return sendJson(res, 400, { message: 'invalid Neon-Connection-String header' });
    }
    if (!allowed.has(target)) return sendJson(res, 403, { message: `target ${target} is not allowed` });

    let body: NeonQuery | { queries: NeonQuery[] };
    try {
      body = JSON.parse(await readBody(req, maxBodyBytes));
    } catch (error) {
      const status = (error as { status?: number }).status ?? 400;
      return sendJson(res, status, { message: status === 413 ? 'request body too large' : 'invalid JSON body' });
    }

    const pool = poolFor(connectionString);
    if (!('queries' in body)) {
      try {
        return sendJson(res, 200, toNeonResult(await runQuery(pool, body)));
      } catch (error) {
        return sendJson(res, isConnectionError(error) ? 503 : 400, toNeonError(error));
      }
    }

    // A batch is one transaction: all of it commits or none of it does.
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      return sendJson(res, 503, toNeonError(error));
    }
    let broken = false;
    try {
      const isolation = isolationLevels[String(req.headers['neon-batch-isolation-level'])];
      const readOnly = req.headers['neon-batch-read-only'] === 'true';
      const deferrable = req.headers['neon-batch-deferrable'] === 'true';
      await client.query(['BEGIN', isolation && `ISOLATION LEVEL ${isolation}`, readOnly && 'READ ONLY', deferrable && 'DEFERRABLE'].filter(Boolean).join(' '));
      const results = [];
      for (const q of body.queries) results.push(toNeonResult(await runQuery(client, q)));
      await client.query('COMMIT');
      sendJson(res, 200, { results });
    } catch (error) {
      broken = isConnectionError(error);
      if (!broken) await client.query('ROLLBACK').catch(() => (broken = true));
      sendJson(res, broken ? 503 : 400, toNeonError(error));
    } finally {
      client.release(broken);
    }
  };

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://bridge').pathname;
    if (req.method === 'POST' && path === '/sql') {
      handleSql(req, res).catch((error) => sendJson(res, 500, { message: String(error) }));
    } else if (req.method === 'GET' && path === '/healthz') {
      sendJson(res, 200, { status: 'ok' });
    } else {
      sendJson(res, 404, { message: 'not found' });
    }
  });

  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const address = new URL(req.url ?? '/', 'http://bridge').searchParams.get('address') ?? '';
    if (!allowed.has(address)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => pipeToPostgres(ws, address, sockets));
  });

  return {
    ...(await listenOn(server, options)),
    async close() {
      for (const socket of sockets) socket.destroy();
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...pools.values()].map((pool) => pool.end().catch(() => undefined)));
    },
  };
}

function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? '';
  // Node socket errors, and Postgres classes 08 (connection exception) and 57P (operator intervention).
  return (
    /^E[A-Z]+$/.test(code) ||
    code.startsWith('08') ||
    code.startsWith('57P') ||
    /Connection terminated|connect ECONNREFUSED/.test((error as Error).message ?? '')
  );
}

function pipeToPostgres(ws: WebSocket, address: string, sockets: Set<Socket>): void {
  const [host, port] = address.split(':');
  const tcp = connect({ host: host!, port: Number(port) });
  sockets.add(tcp);
  const pending: Buffer[] = [];
  let connected = false;
  tcp.on('connect', () => {
    connected = true;
    for (const chunk of pending.splice(0)) tcp.write(chunk);
  });
  tcp.on('data', (data) => ws.send(data));
  tcp.on('close', () => {
    sockets.delete(tcp);
    ws.close();
  });
  tcp.on('error', () => ws.terminate());
  ws.on('message', (data) => {
    const chunk = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (connected) tcp.write(chunk);
    else pending.push(chunk);
  });
  ws.on('close', () => tcp.destroy());
  ws.on('error', () => tcp.destroy());
}
