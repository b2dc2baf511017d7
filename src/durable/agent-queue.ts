import { DurableObject } from 'cloudflare:workers';
import type { WorkerEnv } from '../env';

/**
 * One per agent: the authority for who holds a job right now (queued job ids, leases, long-poll
 * waiters), backed by its SQLite storage. The leasing protocol lands with the agents milestone;
 * the class is declared now so its SQLite migration and binding are in place from the start.
 */
export class AgentQueue extends DurableObject<WorkerEnv> {}
