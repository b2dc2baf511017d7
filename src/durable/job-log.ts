import { DurableObject } from 'cloudflare:workers';
import type { WorkerEnv } from '../env';

/**
 * One per job: appends log chunks by byte offset, serves tails to live viewers and flushes the
 * finished log to the object store. Implemented with the agents milestone; declared now so its
 * SQLite migration and binding exist from the first deploy.
 */
export class JobLog extends DurableObject<WorkerEnv> {}
