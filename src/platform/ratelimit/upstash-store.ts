// The `redis` store: @upstash/ratelimit's sliding window over Upstash's Redis REST API. Plain
// fetch underneath, so it runs in the Worker and in Node (where its tests drive a real Redis).
import { Ratelimit, type Duration } from '@upstash/ratelimit';
import { Redis } from '@upstash/redis/cloudflare';
import type { RequestRate } from '../../config/kinds';
import { withStoreTimeout, type RateLimitResult, type RateLimitStore } from './store';

export interface UpstashStoreOptions {
  /** The REST endpoint (PHOBOS_RATE_LIMIT_STORE_PLUGIN_DATA_REDIS_ENDPOINT). */
  url: string;
  token: string | undefined;
  rate: RequestRate;
}

export class UpstashStore implements RateLimitStore {
  private readonly ratelimit: Ratelimit;

  constructor(options: UpstashStoreOptions) {
    const redis = new Redis({
      url: options.url,
      token: options.token ?? '',
      // Retrying inside a one-second budget only delays the fail-open answer; the next request tries again.
      retry: false,
      enableTelemetry: false,
    });
    this.ratelimit = new Ratelimit({
      redis,
      limiter: Ratelimit.slidingWindow(options.rate.limit, `${options.rate.windowSeconds} s` as Duration),
      prefix: 'phobos:ratelimit',
      // Off: its own timeout would allow the request silently; withStoreTimeout bounds the wait and
      // limitFailingOpen logs.
      timeout: 0,
      analytics: false,
      // Left at its default: a per-instance Map of keys refused until their window ends, answered
      // without a Redis round trip. It works because instances are memoised per isolate below.
    });
  }

  async limit(key: string): Promise<RateLimitResult> {
    // `pending` is only used by analytics and multi-region sync, both off, so it needs no waitUntil.
    const response = await withStoreTimeout(this.ratelimit.limit(key));
    return { allowed: response.success, limit: response.limit, remaining: response.remaining, resetMs: response.reset };
  }
}

// One store per isolate and configuration: creating it per request would lose the ephemeral cache.
const stores = new Map<string, UpstashStore>();

export function upstashStoreFor(options: UpstashStoreOptions): UpstashStore {
  const id = JSON.stringify([options.url, options.token, options.rate.limit, options.rate.windowSeconds]);
  let store = stores.get(id);
  if (!store) {
    store = new UpstashStore(options);
    stores.set(id, store);
  }
  return store;
}
