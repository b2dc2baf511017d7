// Cron: flag releases whose due date approaches or has passed (due-dates.ts), once each.
import { databaseFor } from '../../runtime';
import type { ScheduledTask } from '../../scheduled/tasks';
import { flagDueReleases } from './due-dates';

export const releaseDueDatesTask: ScheduledTask = {
  name: 'release-due-dates',
  async run({ config, logger, now }) {
    if (!config.database.host) return;
    const notices = await flagDueReleases(databaseFor(config).http, config, now);
    // Each notice's email to the release's participants was queued with it (notification_queue); the
    // notifications task sends it.
    if (notices.length > 0) logger.info('release due-date notices', { count: notices.length });
  },
};
