// Binaries declared but never completed (a publisher that gave up mid-upload): once an hour the
// cron trigger aborts their uploads, drops the parts already stored and deletes their rows, a day
// after they were declared (the part URLs expire after an hour, so nothing can finish them later).
import { and, asc, eq, lt } from 'drizzle-orm';
import type { HttpDatabase } from '../../db/client';
import { pluginPlatforms } from '../../db/schema';
import type { ObjectStore } from '../../platform/object-store/object-store';
import { objectStoreFor } from '../../platform/object-store/select';
import { databaseFor } from '../../runtime';
import type { ScheduledTask } from '../../scheduled/tasks';
import { discard } from './service';

const abandonedAfterMs = 24 * 3600 * 1000;
/** Per run; a larger backlog is worked off over the next hours. */
const batch = 100;

/** Discards the pending binaries declared before `now` minus a day; returns how many. */
export async function discardAbandonedPluginUploads(db: HttpDatabase, store: ObjectStore, now: Date): Promise<number> {
  const abandoned = await db
    .select()
    .from(pluginPlatforms)
    .where(and(eq(pluginPlatforms.status, 'pending'), lt(pluginPlatforms.createdAt, new Date(now.getTime() - abandonedAfterMs))))
    .orderBy(asc(pluginPlatforms.createdAt))
    .limit(batch);
  for (const platform of abandoned) await discard(db, store, platform);
  return abandoned.length;
}

export const abandonedPluginUploadsTask: ScheduledTask = {
  name: 'abandoned-plugin-uploads',
  async run({ env, config, logger, now }) {
    // Hourly (the trigger fires every minute).
    if (now.getUTCMinutes() !== 30) return;
    const discarded = await discardAbandonedPluginUploads(databaseFor(config).http, objectStoreFor(env, config), now);
    if (discarded > 0) logger.info('abandoned plugin uploads discarded', { discarded });
  },
};
