// Cron: expands the notifications queued since the last run into emails, then delivers the email
// outbox's due messages (retries included). Notifications therefore leave within a minute or so of
// their cause, never inside the request that caused them.
import { databaseFor } from '../../runtime';
import { emailSenderFor } from '../../platform/email/select';
import type { ScheduledTask } from '../../scheduled/tasks';
import { deliverDueEmails } from './deliver';
import { expandNotifications } from './expand';

export const notificationsTask: ScheduledTask = {
  name: 'notifications',
  async run({ config, logger, now }) {
    if (!config.database.host) return;
    const db = databaseFor(config).http;
    const queued = await expandNotifications(db, { uiUrl: config.server.uiUrl });
    const outcome = await deliverDueEmails(db, emailSenderFor(config.email, logger), now);
    if (queued > 0 || outcome.sent + outcome.retrying + outcome.dead > 0) logger.info('notifications', { queued, ...outcome });
  },
};
