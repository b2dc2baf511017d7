import { DurableObject } from 'cloudflare:workers';
import type { WorkerEnv } from '../env';

/**
 * The `memory` rate-limit store: a sliding window per client key, one object per shard of keys.
 * Implemented with the API-surface milestone; declared now for its SQLite migration and binding.
 */
export class RateLimiter extends DurableObject<WorkerEnv> {}
