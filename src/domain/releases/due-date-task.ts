// Cron: flag releases whose due date approaches or has passed (due-dates.ts), once each.
import { databaseFor } from '../../runtime';
import type { ScheduledTask } from '../../scheduled/tasks';
import { flagDueReleases } from './due-dates';

export const releaseDueDatesTask: ScheduledTask = {
  name: 'release-due-dates',
  async run({ config, logger, now }) {
    if (!config.database.host) return;
    const notices = await flagDueReleases(databaseFor(config).http, config, now);
    // Mail hook: the platform's email delivery sends each notice to the release's participants
    // (participantsOfReleases) here, once it exists; until then the activity event is the notice.
    if (notices.length > 0) logger.info('release due-date notices', { count: notices.length });
  },
};
