// The `redis` rate-limit store against the real Redis on 127.0.0.1:6379, reached the way the
// Worker reaches Upstash: over the REST protocol, here served by scripts/redis-rest-bridge.ts.
// The store is plain fetch code, so Node runs it as the Worker would.
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisRestBridge } from '../../scripts/redis-rest-bridge';
import { loadConfig } from '../../src/config/load';
import type { WorkerEnv } from '../../src/env';
import { rateLimitStoreFor } from '../../src/platform/ratelimit';
import { limitFailingOpen, RateLimitStoreTimeout, STORE_TIMEOUT_MS, type RateLimitResult } from '../../src/platform/ratelimit/store';
import { UpstashStore, upstashStoreFor } from '../../src/platform/ratelimit/upstash-store';
import { freePort } from '../setup/free-port';

const token = `test-token-${crypto.randomUUID()}`;
const redisUrl = 'redis://127.0.0.1:6379';
// An hour-long window: a burst cannot straddle a window boundary (windows are fixed to the epoch).
const hourly = { limit: 10, windowSeconds: 3600 };
const runId = crypto.randomUUID();

let bridge: Awaited<ReturnType<typeof startRedisRestBridge>>;
const redis = new Redis(redisUrl, { lazyConnect: true });

beforeAll(async () => {
  bridge = await startRedisRestBridge({ token, redisUrl });
});

afterAll(async () => {
  await bridge?.close();
  // The store's keys would expire after two windows; remove this run's now.
  await redis.connect();
  const keys = await redis.keys(`phobos:ratelimit:*${runId}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

/** Asks as the middleware does; any failure fails the test (these stores are meant to answer). */
async function ask(store: UpstashStore, key: string): Promise<RateLimitResult> {
  const failures: unknown[] = [];
  const result = await limitFailingOpen(store, key, { onFailure: (error) => failures.push(error) });
  expect(failures).toEqual([]);
  return result!;
}

describe('the redis store (Upstash sliding window)', () => {
  it('allows exactly the limit in a burst of 200 from one client, and not another client', async () => {
    const store = new UpstashStore({ url: bridge.url, token, rate: hourly });
    const key = `ip:burst-${runId}`;
    const results = await Promise.all(Array.from({ length: 200 }, () => ask(store, key)));

    const allowed = results.filter((result) => result.allowed);
    expect(allowed).toHaveLength(10);
    expect(allowed.map((result) => result.remaining).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const refused = results.filter((result) => !result.allowed);
    expect(refused).toHaveLength(190);
    const windowEnd = (Math.floor(Date.now() / 3_600_000) + 1) * 3_600_000;
    for (const result of refused) expect(result).toEqual({ allowed: false, limit: 10, remaining: 0, resetMs: windowEnd });

    expect(await ask(store, `ip:other-${runId}`)).toEqual({ allowed: true, limit: 10, remaining: 9, resetMs: windowEnd });
  });

  it('shares counts between instances (isolates) through Redis', async () => {
    const key = `user:shared-${runId}`;
    const first = new UpstashStore({ url: bridge.url, token, rate: { limit: 2, windowSeconds: 3600 } });
    const second = new UpstashStore({ url: bridge.url, token, rate: { limit: 2, windowSeconds: 3600 } });
    expect((await ask(first, key)).allowed).toBe(true);
    expect((await ask(second, key)).allowed).toBe(true);
    expect((await ask(first, key)).allowed).toBe(false);
  });

  it('is chosen by configuration and created once per configuration', () => {
    const config = loadConfig({
      PHOBOS_HTTP_RATE_LIMIT: '100/minute',
      PHOBOS_RATE_LIMIT_STORE_PLUGIN_TYPE: 'redis',
      PHOBOS_RATE_LIMIT_STORE_PLUGIN_DATA_REDIS_ENDPOINT: bridge.url,
      PHOBOS_RATE_LIMIT_STORE_PLUGIN_DATA_REDIS_TOKEN: token,
    });
    const env = {} as WorkerEnv; // the redis store needs no binding
    const store = rateLimitStoreFor(config, env);
    expect(store).toBeInstanceOf(UpstashStore);
    expect(rateLimitStoreFor(config, env)).toBe(store);
    expect(upstashStoreFor({ url: bridge.url, token, rate: { limit: 100, windowSeconds: 60 } })).toBe(store);
  });
});

describe('the redis store failing open', () => {
  it('allows the request, reports once and answers at once when the endpoint refuses connections', async () => {
    const store = new UpstashStore({ url: `http://127.0.0.1:${await freePort()}`, token, rate: hourly });
    const failures: unknown[] = [];
    const started = Date.now();
    const result = await limitFailingOpen(store, `ip:refused-${runId}`, { onFailure: (error) => failures.push(error) });
    expect(result).toBeUndefined();
    expect(failures).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(STORE_TIMEOUT_MS + 500);
  });

  it('allows the request within the bound when the endpoint accepts but never answers', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => sockets.add(socket));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    try {
      const { port } = silent.address() as { port: number };
      const store = new UpstashStore({ url: `http://127.0.0.1:${port}`, token, rate: hourly });
      const failures: unknown[] = [];
      const started = Date.now();
      const result = await limitFailingOpen(store, `ip:silent-${runId}`, { onFailure: (error) => failures.push(error) });
      const elapsed = Date.now() - started;
      expect(result).toBeUndefined();
      expect(failures).toHaveLength(1);
      expect(failures[0]).toBeInstanceOf(RateLimitStoreTimeout);
      expect(elapsed).toBeGreaterThanOrEqual(STORE_TIMEOUT_MS - 50);
      expect(elapsed).toBeLessThan(STORE_TIMEOUT_MS + 500);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  it('treats a rejected token as a failure, not as a verdict', async () => {
    const store = new UpstashStore({ url: bridge.url, token: 'not-the-token', rate: hourly });
    const failures: unknown[] = [];
    const result = await limitFailingOpen(store, `ip:unauthorized-${runId}`, { onFailure: (error) => failures.push(error) });
    expect(result).toBeUndefined();
    expect(failures).toHaveLength(1);
  });
});
