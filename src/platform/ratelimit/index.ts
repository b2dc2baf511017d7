// Chooses the rate-limit store from PHOBOS_RATE_LIMIT_STORE_PLUGIN_TYPE.
import type { PhobosConfig } from '../../config/load';
import type { WorkerEnv } from '../../env';
import { DurableObjectStore, type RateLimiterNamespace } from './durable-object-store';
import type { RateLimitStore } from './store';
import { upstashStoreFor } from './upstash-store';

export { limitFailingOpen, type RateLimitResult, type RateLimitStore } from './store';

export function rateLimitStoreFor(config: PhobosConfig, env: WorkerEnv): RateLimitStore {
  const rate = config.server.httpRateLimit;
  if (config.rateLimitStore.type === 'redis') {
    // The config module requires the endpoint when the type is redis.
    return upstashStoreFor({ url: config.rateLimitStore.redisEndpoint!, token: config.rateLimitStore.redisToken, rate });
  }
  // One store per isolate and configuration: it coalesces the concurrent requests of a client, which
  // only works if they meet in the same store. (The binding is declared untyped in env.ts; its class
  // is RateLimiter, whose `limitMany` RPC this uses.)
  let store = durableObjectStores.get(config);
  if (!store) {
    store = new DurableObjectStore(env.RATE_LIMITER as unknown as RateLimiterNamespace, rate);
    durableObjectStores.set(config, store);
  }
  return store;
}

const durableObjectStores = new WeakMap<PhobosConfig, DurableObjectStore>();
