// Retention of finished job logs (PHOBOS_JOB_LOG_RETENTION_DAYS): once an hour the cron trigger
// deletes stored logs written before the cutoff from the object store. Logs live under a prefix
// of their own (job-logs/<jobId>), so the sweep lists nothing else. A job whose log was deleted
// keeps its logSize and logTruncated; its `logs` read empty from then on.
import { jobLogPrefix } from '../../durable/job-log';
import type { ObjectStore } from '../../platform/object-store/object-store';
import { objectStoreFor } from '../../platform/object-store/select';
import type { ScheduledTask } from '../../scheduled/tasks';

/** Pages of 1000 listed per run: a backlog larger than this is worked off over the next hours. */
const maxPagesPerRun = 50;

/** Deletes stored logs uploaded before `cutoff`; returns how many. */
export async function deleteJobLogsBefore(store: ObjectStore, cutoff: Date): Promise<number> {
  let deleted = 0;
  let cursor: string | undefined;
  for (let page = 0; page < maxPagesPerRun; page += 1) {
    const listed = await store.list({ prefix: jobLogPrefix, cursor });
    for (const object of listed.objects) {
      if (object.uploaded.getTime() >= cutoff.getTime()) continue;
      await store.delete(object.key);
      deleted += 1;
    }
    cursor = listed.cursor;
    if (!cursor) break;
  }
  return deleted;
}

const dayMs = 24 * 3600 * 1000;

export const jobLogRetentionTask: ScheduledTask = {
  name: 'job-log-retention',
  async run({ env, config, logger, now }) {
    const days = config.jobLogs.retentionDays;
    // Hourly (the trigger fires every minute); 0 keeps logs forever.
    if (days === 0 || now.getUTCMinutes() !== 0) return;
    const deleted = await deleteJobLogsBefore(objectStoreFor(env, config), new Date(now.getTime() - days * dayMs));
    if (deleted > 0) logger.info('job logs past their retention deleted', { deleted, retentionDays: days });
  },
};
