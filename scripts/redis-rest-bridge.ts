// The local stand-in for Upstash's Redis REST API, so @upstash/redis (and @upstash/ratelimit on top
// of it) reach a plain Redis server in tests and in local development exactly as they reach Upstash
// in production (one rate-limit code path):
//   - `POST /` with one command as a JSON array (`["SET","k","v"]`) answers `{"result": …}`.
//   - `POST /pipeline` with an array of commands answers an array of `{"result"}` / `{"error"}`,
//     one per command, run in order but not atomically.
//   - `POST /multi-exec` runs the commands as one MULTI/EXEC transaction and answers the same way.
// Every request needs `Authorization: Bearer <token>`. With `Upstash-Encoding: base64` (which the
// client sends by default) every string in a result, nested ones included, is base64 of its bytes;
// integers, null and arrays stay JSON. Command errors answer 400 `{"error": "<Redis message>"}`,
// an unreachable Redis 503 at once (no offline queue, no retries).
// Upstash's own local emulator (serverless-redis-http) is an Elixir service that is not on npm;
// this small bridge is written by hand for that reason. It listens on loopback.
import { listenOn, readBody, sendJson } from './local-stack/http-json';
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Redis, ReplyError } from 'ioredis';

export interface RedisRestBridgeOptions {
  /** The bearer token clients must send (UPSTASH_REDIS_REST_TOKEN). */
  token: string;
  /** The Redis server the bridge talks to. */
  redisUrl?: string;
  /** Port to listen on; 0 picks a free one. */
  port?: number;
  host?: string;
  /** Largest HTTP request body accepted, in bytes. */
  maxBodyBytes?: number;
  /** A command Redis has not answered after this long fails with 503. */
  commandTimeoutMs?: number;
}

export interface RedisRestBridge {
  url: string;
  port: number;
  close(): Promise<void>;
}

type Arg = string | number | boolean;

/** A validated command, ready for ioredis, with a hook to adjust its reply. */
interface Prepared {
  name: string;
  args: string[];
  mapReply?: (reply: unknown) => unknown;
}

class BadRequest extends Error {}

// Each REST request stands alone over one shared connection, so nothing may change that
// connection's state or block it for everyone else. Transactions go through /multi-exec.
const refusedCommands = new Set([
  'MULTI',
  'EXEC',
  'DISCARD',
  'WATCH',
  'UNWATCH',
  'SELECT',
  'AUTH',
  'HELLO',
  'RESET',
  'QUIT',
  'MONITOR',
  'SUBSCRIBE',
  'PSUBSCRIBE',
  'SSUBSCRIBE',
  'UNSUBSCRIBE',
  'PUNSUBSCRIBE',
  'SUNSUBSCRIBE',
  'SYNC',
  'PSYNC',
  'REPLCONF',
  'BLPOP',
  'BRPOP',
  'BRPOPLPUSH',
  'BLMOVE',
  'BLMPOP',
  'BZPOPMIN',
  'BZPOPMAX',
  'BZMPOP',
  'WAIT',
  'WAITAOF',
]);

// Shebang flags only Upstash knows. @upstash/ratelimit's scripts start with
// `#!lua flags=allow-key-locking`, which Redis 7 refuses ("Unexpected flag in script shebang").
const upstashOnlyScriptFlags = new Set(['allow-key-locking']);

function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

/** The script with Upstash-only shebang flags removed; the same string when there are none. */
export function adaptScript(script: string): string {
  const shebang = /^#!lua[^\n]*/.exec(script)?.[0];
  if (!shebang) return script;
  let changed = false;
  const options = shebang
    .slice('#!lua'.length)
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((option) => {
      if (!option.startsWith('flags=')) return option;
      const flags = option.slice('flags='.length).split(',').filter(Boolean);
      const kept = flags.filter((flag) => !upstashOnlyScriptFlags.has(flag));
      if (kept.length === flags.length) return option;
      changed = true;
      // `flags=` stays even when empty: a script that declares flags runs in Redis 7's strict mode.
      return `flags=${kept.join(',')}`;
    });
  return changed ? ['#!lua', ...options].join(' ') + script.slice(shebang.length) : script;
}

/**
 * A reply as Upstash writes it: bulk and status strings as base64 of their bytes (or as UTF-8 text
 * without the encoding header), integers and null as they are, arrays element by element. An error
 * nested in an array (a Lua table holding `redis.error_reply`) becomes its message.
 */
function encodeReply(value: unknown, base64: boolean): unknown {
  if (Buffer.isBuffer(value)) return base64 ? (value as Buffer).toString('base64') : (value as Buffer).toString('utf8');
  if (typeof value === 'string') return encodeReply(Buffer.from(value), base64);
  if (Array.isArray(value)) return value.map((item) => encodeReply(item, base64));
  if (value instanceof Error) return encodeReply(Buffer.from(value.message), base64);
  return value ?? null;
}

function isReplyError(error: unknown): error is Error {
  return error instanceof ReplyError;
}

// Not ioredis's `commandTimeout`: its timer outlives a rejected command and holds the process open.
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function unavailable(error: unknown): { error: string } {
  return { error: `Redis is unavailable: ${(error as Error).message ?? String(error)}` };
}

export async function startRedisRestBridge(options: RedisRestBridgeOptions): Promise<RedisRestBridge> {
  if (!options.token) throw new Error('startRedisRestBridge: a token is required');
  const expectedToken = createHash('sha256').update(options.token).digest();
  const maxBodyBytes = options.maxBodyBytes ?? 10 * 1024 * 1024;
  const commandTimeoutMs = options.commandTimeoutMs ?? 10_000;
  // Script SHA as the client computed it (with Upstash flags) -> SHA of the script Redis was given.
  const scriptShas = new Map<string, string>();

  const redis = new Redis(options.redisUrl ?? 'redis://127.0.0.1:6379', {
    // Fail a command at once while Redis is away instead of queueing it until it returns.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2_000,
    connectionName: 'phobos-redis-rest-bridge',
  });
  // Connection failures surface per request as 503; ioredis keeps reconnecting in the background.
  redis.on('error', () => undefined);
  // Wait for the first connection attempt (not its success) so a request right after start finds
  // Redis ready, while an unreachable Redis still lets the bridge start and answer 503.
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, 3_000);
    function done() {
      clearTimeout(timer);
      for (const event of ['ready', 'error', 'end'] as const) redis.off(event, done);
      resolve();
    }
    for (const event of ['ready', 'error', 'end'] as const) redis.once(event, done);
  });

  const authorized = (req: IncomingMessage): boolean => {
    const match = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    if (!match) return false;
    return timingSafeEqual(createHash('sha256').update(match[1]!.trim()).digest(), expectedToken);
  };

  const prepare = (command: unknown): Prepared => {
    if (!Array.isArray(command) || command.length === 0) {
      throw new BadRequest('a command must be a non-empty JSON array');
    }
    for (const arg of command) {
      if (typeof arg !== 'string' && typeof arg !== 'number' && typeof arg !== 'boolean') {
        throw new BadRequest('command arguments must be strings, numbers or booleans');
      }
    }
    const [first, ...args] = (command as Arg[]).map(String);
    // Upper case on purpose: ioredis keys its reply transformers on the lower-case name (HGETALL
    // would come back as an object), and Upstash answers with Redis's own reply shapes.
    const name = first!.toUpperCase();
    if (refusedCommands.has(name)) {
      throw new BadRequest(`ERR '${name}' is not supported over REST${name === 'MULTI' || name === 'EXEC' ? ' (use /multi-exec)' : ''}`);
    }
    if ((name === 'XREAD' || name === 'XREADGROUP') && args.some((arg) => arg.toUpperCase() === 'BLOCK')) {
      throw new BadRequest(`ERR '${name} BLOCK' is not supported over REST`);
    }
    if (name === 'CLIENT' && args[0]?.toUpperCase() === 'REPLY') {
      throw new BadRequest(`ERR 'CLIENT REPLY' is not supported over REST`);
    }

    // Scripts: Redis gets the script without Upstash-only flags; the client keeps addressing it by
    // the SHA of the text it sent, which is mapped here to the SHA Redis knows.
    if ((name === 'EVAL' || name === 'EVAL_RO') && args[0] !== undefined) {
      const adapted = adaptScript(args[0]);
      if (adapted !== args[0]) scriptShas.set(sha1(args[0]), sha1(adapted));
      return { name, args: [adapted, ...args.slice(1)] };
    }
    if ((name === 'EVALSHA' || name === 'EVALSHA_RO') && args[0] !== undefined) {
      return { name, args: [scriptShas.get(args[0].toLowerCase()) ?? args[0], ...args.slice(1)] };
    }
    if (name === 'SCRIPT' && args[0]?.toUpperCase() === 'LOAD' && args[1] !== undefined) {
      const original = sha1(args[1]);
      const adapted = adaptScript(args[1]);
      if (adapted === args[1]) return { name, args };
      scriptShas.set(original, sha1(adapted));
      return { name, args: [args[0], adapted], mapReply: (reply) => (reply == null ? reply : Buffer.from(original)) };
    }
    if (name === 'SCRIPT' && args[0]?.toUpperCase() === 'EXISTS') {
      return { name, args: [args[0], ...args.slice(1).map((sha) => scriptShas.get(sha.toLowerCase()) ?? sha)] };
    }
    return { name, args };
  };

  const parseCommands = (body: unknown): Prepared[] => {
    if (!Array.isArray(body) || body.length === 0) {
      throw new BadRequest('the body must be a non-empty JSON array of commands');
    }
    return body.map(prepare);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    if (!authorized(req)) return sendJson(res, 401, { error: 'Unauthorized' });

    let body: unknown;
    try {
      body = JSON.parse(await readBody(req, maxBodyBytes));
    } catch (error) {
      const status = (error as { status?: number }).status ?? 400;
      return sendJson(res, status, { error: status === 413 ? 'request body too large' : 'invalid JSON body' });
    }
    const base64 = String(req.headers['upstash-encoding'] ?? '').toLowerCase() === 'base64';
    const entry = (command: Prepared, error: unknown, reply: unknown) =>
      error ? { error: (error as Error).message } : { result: encodeReply(command.mapReply ? command.mapReply(reply) : reply, base64) };

    let commands: Prepared[];
    try {
      commands = path === '/' ? [prepare(body)] : parseCommands(body);
    } catch (error) {
      if (error instanceof BadRequest) return sendJson(res, 400, { error: error.message });
      throw error;
    }

    if (path === '/') {
      const [command] = commands as [Prepared];
      try {
        const reply = await withTimeout(redis.callBuffer(command.name, ...command.args), commandTimeoutMs);
        return sendJson(res, 200, entry(command, undefined, reply));
      } catch (error) {
        return isReplyError(error) ? sendJson(res, 400, { error: error.message }) : sendJson(res, 503, unavailable(error));
      }
    }

    let replies: [Error | null, unknown][];
    try {
      const batch = path === '/multi-exec' ? redis.multi() : redis.pipeline();
      for (const command of commands) batch.callBuffer(command.name, ...command.args);
      replies = (await withTimeout(batch.exec(), commandTimeoutMs)) ?? [];
    } catch (error) {
      if (!isReplyError(error)) return sendJson(res, 503, unavailable(error));
      // EXECABORT: a command could not be queued, so none ran. Say which.
      const causes = ((error as { previousErrors?: Error[] }).previousErrors ?? []).map((cause) => cause.message);
      return sendJson(res, 400, { error: [error.message, ...causes].join(' ') });
    }
    const lost = replies.find(([error]) => error && !isReplyError(error));
    if (lost) return sendJson(res, 503, unavailable(lost[0]));
    sendJson(
      res,
      200,
      replies.map(([error, reply], i) => entry(commands[i]!, error, reply)),
    );
  };

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://bridge').pathname;
    if (req.method === 'POST' && (path === '/' || path === '/pipeline' || path === '/multi-exec')) {
      handle(req, res, path).catch((error) => sendJson(res, 500, { error: String(error) }));
    } else if (req.method === 'GET' && path === '/healthz') {
      sendJson(res, redis.status === 'ready' ? 200 : 503, { status: redis.status === 'ready' ? 'ok' : 'unavailable' });
    } else {
      sendJson(res, 404, { error: 'not found' });
    }
  });

  let listening: { url: string; port: number };
  try {
    listening = await listenOn(server, options);
  } catch (error) {
    redis.disconnect();
    throw error;
  }

  return {
    ...listening,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // Between reconnection attempts there is no socket to close and no 'end' to wait for.
      if (['connecting', 'connect', 'ready'].includes(redis.status)) {
        const ended = new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1_000);
          redis.once('end', () => {
            clearTimeout(timer);
            resolve();
          });
        });
        redis.disconnect();
        await ended;
      } else {
        redis.disconnect();
      }
    },
  };
}
