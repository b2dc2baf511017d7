// Retention of finished job logs (PHOBOS_JOB_LOG_RETENTION_DAYS): once an hour the cron trigger
// deletes the stored logs of jobs that ended before the cutoff. Postgres drives it, not a listing
// of the object store: job ids are random, so a listing is in no order of age, and a run bounded to
// its first pages would never reach the keys after them. Each run takes the finished jobs (FINISHED,
// FAILED, CANCELED) whose `finished_at` is before the cutoff and whose log is not deleted yet, oldest
// first, in batches (the partial index jobs_log_retention_idx serves exactly this), deletes
// `job-logs/<jobId>` for each — a missing key is fine: the job may never have logged — and sets
// `log_deleted_at`. A run stops after `maxBatchesPerRun` batches; the next run goes on from there.
// Only the object store holds a finished log: the JobLog object drops its rows once it has written
// the log there (src/durable/job-log.ts `finish`). A job whose log was deleted keeps its logSize and
// logTruncated; its `logs` read empty from then on.
import { and, asc, inArray, isNull, lt } from 'drizzle-orm';
import type { HttpDatabase } from '../../db/client';
import { jobs } from '../../db/schema';
import { jobLogKey } from '../../durable/job-log';
import type { ObjectStore } from '../../platform/object-store/object-store';
import { objectStoreFor } from '../../platform/object-store/select';
import { databaseFor } from '../../runtime';
import type { ScheduledTask } from '../../scheduled/tasks';

export interface JobLogRetentionLimits {
  /** Jobs selected (and logs deleted) per batch. */
  batchSize: number;
  /**
   * Batches per run: one object-store delete per job, so a run makes at most
   * batchSize × maxBatchesPerRun of them (plus two queries a batch), well inside what one
   * scheduled invocation may do; an hourly run works off up to 120,000 logs a day.
   */
  maxBatchesPerRun: number;
}

const jobLogRetentionLimits: JobLogRetentionLimits = { batchSize: 1000, maxBatchesPerRun: 5 };

/** Object-store deletes in flight at once (a Worker keeps at most six connections open). */
const deleteConcurrency = 6;

const endedStatuses = ['FINISHED', 'FAILED', 'CANCELED'] as const;

/**
 * Deletes the stored logs of jobs that finished before `cutoff`, oldest first, and marks those jobs;
 * returns how many. Stops after `limits.maxBatchesPerRun` batches: what is left is the next run's.
 */
export async function deleteJobLogsBefore(
  db: HttpDatabase,
  store: Pick<ObjectStore, 'delete'>,
  cutoff: Date,
  limits: JobLogRetentionLimits = jobLogRetentionLimits,
): Promise<number> {
  let deleted = 0;
  for (let batch = 0; batch < limits.maxBatchesPerRun; batch += 1) {
    const due = await db
      .select({ id: jobs.id })
      .from(jobs)
      .where(and(isNull(jobs.logDeletedAt), inArray(jobs.status, endedStatuses), lt(jobs.finishedAt, cutoff)))
      .orderBy(asc(jobs.finishedAt))
      .limit(limits.batchSize);
    if (due.length === 0) break;
    const done: string[] = [];
    let failure: unknown;
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(deleteConcurrency, due.length) }, async () => {
        while (failure === undefined && next < due.length) {
          const { id } = due[next++]!;
          try {
            await store.delete(jobLogKey(id));
            done.push(id);
          } catch (error) {
            failure ??= error;
          }
        }
      }),
    );
    // The logs deleted are marked even when another delete failed: the next run retries only the rest.
    if (done.length > 0) await db.update(jobs).set({ logDeletedAt: new Date() }).where(inArray(jobs.id, done));
    deleted += done.length;
    if (failure !== undefined) throw failure;
    if (due.length < limits.batchSize) break;
  }
  return deleted;
}

const dayMs = 24 * 3600 * 1000;

export const jobLogRetentionTask: ScheduledTask = {
  name: 'job-log-retention',
  async run({ env, config, logger, now }) {
    const days = config.jobLogs.retentionDays;
    // Hourly (the trigger fires every minute); 0 keeps logs forever.
    if (days === 0 || now.getUTCMinutes() !== 0 || !config.database.host) return;
    const cutoff = new Date(now.getTime() - days * dayMs);
    const deleted = await deleteJobLogsBefore(databaseFor(config).http, objectStoreFor(env, config), cutoff);
    if (deleted > 0) logger.info('job logs past their retention deleted', { deleted, retentionDays: days });
  },
};
