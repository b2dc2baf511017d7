import { DurableObject } from 'cloudflare:workers';
import type { WorkerEnv } from '../env';

/** What a finished log amounts to. */
export interface JobLogSummary {
  size: number;
  truncated: boolean;
}

/**
 * One per job: appends log chunks by byte offset, serves tails to live viewers and flushes the
 * finished log to the object store.
 */
export class JobLog extends DurableObject<WorkerEnv> {
  /**
   * The job ended: no chunk is accepted after this; the log is written to the object store once.
   * Idempotent. (Contract for the job-finish route; the logs work implements it.)
   */
  async complete(): Promise<JobLogSummary> {
    throw new Error('JobLog.complete is not implemented yet');
  }
}
