import { DurableObject } from 'cloudflare:workers';
import type { WorkerEnv } from '../env';
import type { CountedRequests, InvalidRate, RateLimitResult } from '../platform/ratelimit/store';

/** One client key's counts in the two fixed windows the sliding estimate looks at. */
interface WindowCounts {
  windowMs: number;
  /** Index of the current fixed window: floor(now / windowMs). */
  window: number;
  current: number;
  previous: number;
}

// Sweeping every key is O(keys); doing it at most this often keeps the per-request cost O(1)
// while still dropping idle clients within a minute of their counts becoming irrelevant.
const SWEEP_INTERVAL_MS = 60_000;

/**
 * The `memory` rate-limit store: a sliding window per client key, one object per shard of keys
 * (the Worker picks the shard, see platform/ratelimit/durable-object-store.ts).
 *
 * The counters live in a Map, not in the object's SQLite storage. A count matters for one or two
 * windows (a second, at most a day), an object handles its calls one at a time so the Map needs no
 * locking, and a storage write per request would cost far more than the check itself. The price:
 * when the object is evicted (idle for a while) or restarted (deploy), its clients' counts start
 * from zero, so a client may get up to one extra window's worth of requests. That errs on the side
 * of allowing, like the fail-open policy around the store. Idle keys are swept so memory stays
 * bounded by the clients seen in the last two windows.
 */
export class RateLimiter extends DurableObject<WorkerEnv> {
  private readonly counts = new Map<string, WindowCounts>();
  private lastSweep = 0;

  /**
   * Counts one request for `key` and says whether it is allowed. The sliding-window-counter
   * approximation (Cloudflare's and Upstash's): the previous fixed window's count, weighted by how
   * much of it still overlaps the sliding window, plus the current window's count. The rules are
   * Upstash's (weighted count floored, refused requests not counted) so both stores agree.
   * `now` is for tests; callers leave it to the object's clock.
   */
  async limit(key: string, limit: number, windowMs: number, now: number = Date.now()): Promise<RateLimitResult | InvalidRate> {
    const counted = await this.limitMany(key, 1, limit, windowMs, now);
    if ('invalid' in counted) return counted;
    const { admitted, ...rest } = counted;
    return { ...rest, allowed: admitted === 1 };
  }

  /**
   * Counts `count` requests of `key` at once (an isolate coalesces concurrent requests of one
   * client into one call) and says how many of them are admitted: the first `admitted`, in order.
   * `remaining` is what is left after all of them.
   *
   * A rate it cannot count against is answered, not thrown: an exception leaving an RPC method is
   * reported by workerd as uncaught in the object, although the caller handles the rejection.
   */
  async limitMany(key: string, count: number, limit: number, windowMs: number, now: number = Date.now()): Promise<CountedRequests | InvalidRate> {
    if (!(Number.isInteger(limit) && limit > 0 && Number.isInteger(windowMs) && windowMs > 0 && Number.isInteger(count) && count > 0)) {
      return { invalid: `invalid rate: ${limit} per ${windowMs} ms (${count} at once)` };
    }
    this.sweep(now);
    const window = Math.floor(now / windowMs);
    const counts = this.advance(key, window, windowMs);
    const resetMs = (window + 1) * windowMs;
    // In integers: (1 - elapsed / window) in floating point turns 10 × 10 % into 0.99999…, floored to 0.
    const weightedPrevious = Math.floor((counts.previous * (windowMs - (now % windowMs))) / windowMs);
    const admitted = Math.max(0, Math.min(count, limit - (weightedPrevious + counts.current)));
    counts.current += admitted;
    return { admitted, limit, remaining: Math.max(0, limit - (weightedPrevious + counts.current)), resetMs };
  }

  /** The key's counts rolled forward to `window` (a gap of two or more windows forgets both). */
  private advance(key: string, window: number, windowMs: number): WindowCounts {
    const existing = this.counts.get(key);
    if (existing && existing.windowMs === windowMs && existing.window >= window - 1) {
      if (existing.window === window - 1) {
        existing.previous = existing.current;
        existing.current = 0;
        existing.window = window;
      }
      // A call with an older `now` than the last one (clock skew between calls) counts in the
      // newest window rather than resurrecting an old one.
      return existing;
    }
    const fresh: WindowCounts = { windowMs, window, current: 0, previous: 0 };
    this.counts.set(key, fresh);
    return fresh;
  }

  /** Drops keys whose newest window is older than the previous one: they weigh nothing now. */
  private sweep(now: number): void {
    if (now - this.lastSweep < SWEEP_INTERVAL_MS) return;
    this.lastSweep = now;
    for (const [key, counts] of this.counts) {
      if (counts.window < Math.floor(now / counts.windowMs) - 1) this.counts.delete(key);
    }
  }
}
