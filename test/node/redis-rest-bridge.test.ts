// The Upstash REST bridge against the real Redis on 127.0.0.1:6379: the wire format read raw, then
// the official @upstash/redis client and @upstash/ratelimit running through it.
import { createHash, randomUUID } from 'node:crypto';
import { Ratelimit } from '@upstash/ratelimit';
import { Redis as UpstashRedis } from '@upstash/redis';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adaptScript, startRedisRestBridge, type RedisRestBridge } from '../../scripts/redis-rest-bridge';
import { freePort } from '../setup/free-port';

const token = `test-token-${randomUUID()}`;
const prefix = `phobos-test:${randomUUID()}:`;
const direct = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });

let bridge: RedisRestBridge;
let client: UpstashRedis;

beforeAll(async () => {
  await direct.connect();
  bridge = await startRedisRestBridge({ token });
  client = new UpstashRedis({ url: bridge.url, token, enableTelemetry: false });
});

afterAll(async () => {
  await bridge?.close();
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await direct.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  if (keys.length > 0) await direct.del(...keys);
  await direct.quit();
});

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A raw request as @upstash/redis sends it (base64 responses unless told otherwise). */
function post(path: string, body: unknown, headers: Record<string, string> = {}, url = bridge.url) {
  return fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'upstash-encoding': 'base64', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function errorOf(response: Response): Promise<string> {
  return ((await response.json()) as { error: string }).error;
}

/** Waits for the next window when fewer than `neededMs` are left in the current one. */
async function freshWindow(windowMs: number, neededMs: number): Promise<void> {
  const left = windowMs - (Date.now() % windowMs);
  if (left < neededMs) await sleep(left + 10);
}

describe('wire format', () => {
  it('answers one command with base64 strings, plain integers and null', async () => {
    const key = `${prefix}wire`;
    const set = await post('/', ['SET', key, 'héllo ✓']);
    expect(set.status).toBe(200);
    expect(set.headers.get('content-type')).toBe('application/json');
    expect(await set.json()).toEqual({ result: b64('OK') });
    expect(await (await post('/', ['GET', key])).json()).toEqual({ result: b64('héllo ✓') });
    expect(await (await post('/', ['STRLEN', key])).json()).toEqual({ result: Buffer.byteLength('héllo ✓') });
    expect(await (await post('/', ['GET', `${prefix}missing`])).json()).toEqual({ result: null });
    // Without the header, strings are plain text.
    expect(await (await post('/', ['GET', key], { 'upstash-encoding': '' })).json()).toEqual({ result: 'héllo ✓' });
  });

  it('encodes strings nested in arrays, and numbers given as JSON numbers', async () => {
    const key = `${prefix}list`;
    expect(await (await post('/', ['RPUSH', key, 'a', 42, 'c'])).json()).toEqual({ result: 3 });
    expect(await (await post('/', ['LRANGE', key, 0, -1])).json()).toEqual({ result: [b64('a'), b64('42'), b64('c')] });
    // HGETALL keeps Redis's flat array (ioredis would otherwise make it an object).
    const hash = `${prefix}hash`;
    await post('/', ['HSET', hash, 'f', 'v']);
    expect(await (await post('/', ['HGETALL', hash])).json()).toEqual({ result: [b64('f'), b64('v')] });
    // A Lua table: integers stay, strings are encoded at every depth, false is null.
    const lua = await post('/', ['EVAL', 'return {1, "two", {3, "four"}, false}', 0]);
    expect(await lua.json()).toEqual({ result: [1, b64('two'), [3, b64('four')], null] });
  });

  it('answers a command error with 400 and the Redis message', async () => {
    const key = `${prefix}not-a-number`;
    await post('/', ['SET', key, 'abc']);
    const response = await post('/', ['INCR', key]);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'ERR value is not an integer or out of range' });
  });

  it('runs a pipeline, with an error in its own entry', async () => {
    const key = `${prefix}pipe`;
    const response = await post('/pipeline', [
      ['SET', key, '1'],
      ['INCR', key],
      ['HGET', key, 'f'],
      ['GET', key],
    ]);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([
      { result: b64('OK') },
      { result: 2 },
      { error: 'WRONGTYPE Operation against a key holding the wrong kind of value' },
      { result: b64('2') },
    ]);
  });

  it('runs multi-exec as a transaction: runtime errors per entry, a queueing error aborts it all', async () => {
    const key = `${prefix}tx`;
    const ran = await post('/multi-exec', [
      ['SET', key, 'x'],
      ['INCR', key],
      ['APPEND', key, 'y'],
    ]);
    expect(ran.status).toBe(200);
    expect(await ran.json()).toEqual([{ result: b64('OK') }, { error: 'ERR value is not an integer or out of range' }, { result: 2 }]);

    const aborted = await post('/multi-exec', [
      ['SET', key, 'changed'],
      ['NOSUCHCOMMAND', key],
    ]);
    expect(aborted.status).toBe(400);
    expect(await errorOf(aborted)).toMatch(/^EXECABORT .*unknown command/);
    expect(await direct.get(key)).toBe('xy');
  });

  it('refuses requests without the right bearer token, running nothing', async () => {
    const key = `${prefix}unauthorized`;
    const body = JSON.stringify(['SET', key, 'v']);
    const none = await fetch(bridge.url, { method: 'POST', body });
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ error: 'Unauthorized' });
    const wrong = await post('/', ['SET', key, 'v'], { authorization: `Bearer ${token}x` });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: 'Unauthorized' });
    expect(await direct.exists(key)).toBe(0);

    const rejected = new UpstashRedis({ url: bridge.url, token: 'not-the-token', enableTelemetry: false });
    await expect(rejected.get(key)).rejects.toThrow(/Unauthorized/);
  });

  it('rejects malformed bodies with 400, large ones with 413, unknown paths with 404', async () => {
    const badJson = await post('/', '["SET", "k"');
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toEqual({ error: 'invalid JSON body' });
    expect((await post('/', { command: 'GET' })).status).toBe(400);
    expect((await post('/', [])).status).toBe(400);
    expect((await post('/', ['GET', { key: 'k' }])).status).toBe(400);
    expect((await post('/pipeline', ['GET', 'k'])).status).toBe(400);
    // A command that would change the shared connection's state.
    const multi = await post('/', ['MULTI']);
    expect(multi.status).toBe(400);
    expect(await errorOf(multi)).toMatch(/not supported/);
    expect((await post('/nowhere', ['PING'])).status).toBe(404);

    const small = await startRedisRestBridge({ token, maxBodyBytes: 1024 });
    try {
      const large = await post('/', ['SET', `${prefix}large`, 'x'.repeat(4096)], {}, small.url);
      expect(large.status).toBe(413);
      expect(await direct.exists(`${prefix}large`)).toBe(0);
      expect((await post('/', ['PING'], {}, small.url)).status).toBe(200);
    } finally {
      await small.close();
    }
  });

  it('reports health', async () => {
    const response = await fetch(`${bridge.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });
});

describe('@upstash/redis through the bridge', () => {
  it('runs SET, GET, INCR, EXPIRE and DEL', async () => {
    const key = `${prefix}client`;
    expect(await client.set(key, 'value ✓')).toBe('OK');
    expect(await client.get(key)).toBe('value ✓');
    expect(await client.set(`${prefix}json`, { a: 1, b: ['x'] })).toBe('OK');
    expect(await client.get(`${prefix}json`)).toEqual({ a: 1, b: ['x'] });
    expect(await client.incr(`${prefix}counter`)).toBe(1);
    expect(await client.incr(`${prefix}counter`)).toBe(2);
    expect(await client.expire(key, 100)).toBe(1);
    const ttl = await client.ttl(key);
    expect(ttl).toBeGreaterThan(90);
    expect(ttl).toBeLessThanOrEqual(100);
    expect(await client.del(key, `${prefix}counter`)).toBe(2);
    expect(await client.get(key)).toBeNull();
    expect(await client.hset(`${prefix}h`, { f: 'v', n: 2 })).toBe(2);
    expect(await client.hgetall(`${prefix}h`)).toEqual({ f: 'v', n: 2 });
  });

  it('runs a pipeline and a transaction', async () => {
    const key = `${prefix}client-pipe`;
    expect(await client.pipeline().set(key, 5).incr(key).get(key).exec()).toEqual(['OK', 6, 6]);
    expect(await client.multi().incrby(key, 10).lpush(`${prefix}client-list`, 'a', 'b').lrange(`${prefix}client-list`, 0, -1).exec()).toEqual([
      16,
      2,
      ['b', 'a'],
    ]);
    await expect(client.pipeline().set(key, 'abc').incr(key).exec()).rejects.toThrow(/not an integer/);
    expect(await client.pipeline().set(key, 'abc').incr(key).exec({ keepErrors: true })).toEqual([
      { error: undefined, result: 'OK' },
      { error: 'ERR value is not an integer or out of range', result: undefined },
    ]);
  });

  it('surfaces a command error as a rejection', async () => {
    const key = `${prefix}client-error`;
    await client.set(key, 'abc');
    await expect(client.incr(key)).rejects.toThrow(/ERR value is not an integer or out of range/);
  });

  it('round-trips EVAL results, and scripts with Upstash-only shebang flags by their own SHA', async () => {
    expect(await client.eval('return {1, "two", {3, "four"}, false, "héllo ✓"}', [], [])).toEqual([1, 'two', [3, 'four'], null, 'héllo ✓']);
    expect(await client.eval('return ARGV[1] .. KEYS[1]', [`${prefix}k`], ['x'])).toBe(`x${prefix}k`);
    await expect(client.eval('return redis.error_reply("boom")', [], [])).rejects.toThrow(/boom/);

    const script = `#!lua flags=allow-key-locking\nreturn redis.call("INCRBY", KEYS[1], ARGV[1])`;
    expect(adaptScript(script)).toBe(`#!lua flags=\nreturn redis.call("INCRBY", KEYS[1], ARGV[1])`);
    expect(adaptScript('#!lua flags=no-writes,allow-key-locking\nreturn 1')).toBe('#!lua flags=no-writes\nreturn 1');
    expect(adaptScript('return 1')).toBe('return 1');
    // Redis itself refuses the flag; through the bridge the script runs.
    await expect(direct.eval(script, 1, `${prefix}script`, 1)).rejects.toThrow(/allow-key-locking/);
    expect(await client.eval(script, [`${prefix}script`], [2])).toBe(2);

    const sha = await client.scriptLoad(script);
    expect(sha).toBe(sha1(script));
    expect(await client.evalsha(sha, [`${prefix}script`], [3])).toBe(5);
    expect(await client.scriptExists(sha)).toEqual([1]);
    await expect(client.evalsha('0'.repeat(40), [], [])).rejects.toThrow(/NOSCRIPT/);
  });
});

describe('@upstash/ratelimit through the bridge', () => {
  it('slidingWindow(5, "1 s"): five allowed, then blocked, while another identifier is allowed', async () => {
    const ratelimit = new Ratelimit({
      redis: client,
      limiter: Ratelimit.slidingWindow(5, '1 s'),
      prefix: `${prefix}sliding`,
      ephemeralCache: false,
      analytics: false,
    });
    await freshWindow(1000, 600);
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await ratelimit.limit('alice'));
    expect(results.map((r) => r.success)).toEqual([true, true, true, true, true, false]);
    expect(results.map((r) => r.remaining)).toEqual([4, 3, 2, 1, 0, 0]);
    expect(results.every((r) => r.limit === 5)).toBe(true);
    const other = await ratelimit.limit('bob');
    expect(other.success).toBe(true);
    expect(other.remaining).toBe(4);
    // The counts live in Redis, under the limiter's prefix.
    expect(await direct.keys(`${prefix}sliding:alice:*`)).toHaveLength(1);
  });

  it('fixedWindow(3, "10 s"): three allowed, then blocked, counted in Redis', async () => {
    const ratelimit = new Ratelimit({
      redis: client,
      limiter: Ratelimit.fixedWindow(3, '10 s'),
      prefix: `${prefix}fixed`,
      ephemeralCache: false,
      analytics: false,
    });
    await freshWindow(10_000, 2_000);
    const bucket = Math.floor(Date.now() / 10_000);
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await ratelimit.limit('carol'));
    expect(results.map((r) => r.success)).toEqual([true, true, true, false]);
    expect(results.map((r) => r.remaining)).toEqual([2, 1, 0, 0]);
    expect(results[0]!.reset).toBe((bucket + 1) * 10_000);
    expect(await direct.get(`${prefix}fixed:carol:${bucket}`)).toBe('4');
    expect((await ratelimit.limit('dave')).success).toBe(true);
    expect(await ratelimit.getRemaining('carol')).toMatchObject({ remaining: 0, limit: 3 });
  });
});

describe('when Redis is unreachable', () => {
  it('starts, and answers 503 at once instead of hanging', async () => {
    const started = Date.now();
    const down = await startRedisRestBridge({ token, redisUrl: `redis://127.0.0.1:${await freePort()}` });
    try {
      expect(Date.now() - started).toBeLessThan(2_000);

      const before = Date.now();
      const response = await post('/', ['SET', `${prefix}down`, 'v'], {}, down.url);
      expect(response.status).toBe(503);
      expect(await errorOf(response)).toMatch(/^Redis is unavailable/);
      expect((await post('/pipeline', [['GET', `${prefix}down`]], {}, down.url)).status).toBe(503);
      expect((await post('/multi-exec', [['GET', `${prefix}down`]], {}, down.url)).status).toBe(503);
      const downClient = new UpstashRedis({ url: down.url, token, enableTelemetry: false });
      await expect(downClient.get(`${prefix}down`)).rejects.toThrow(/Redis is unavailable/);
      expect(Date.now() - before).toBeLessThan(2_000);

      expect((await fetch(`${down.url}/healthz`)).status).toBe(503);
    } finally {
      await down.close();
    }
  });
});
