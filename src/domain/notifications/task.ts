// Cron: expands the notifications queued since the last run into emails, then delivers the email
// outbox's due messages (retries included). Notifications therefore leave within a minute or so of
// their cause, never inside the request that caused them.
import { sql } from 'drizzle-orm';
import { databaseFor } from '../../runtime';
import { emailSenderFor } from '../../platform/email/select';
import type { ScheduledTask } from '../../scheduled/tasks';
import { deliverDueEmails } from './deliver';
import { expandNotifications } from './expand';

/** Wall time a run spends on batches before leaving the rest to the next run. */
const runBudgetMs = 40_000;
const sentRetentionDays = 30;

export const notificationsTask: ScheduledTask = {
  name: 'notifications',
  async run({ config, logger, now }) {
    if (!config.database.host) return;
    const db = databaseFor(config).http;
    const started = Date.now();
    // Batches until the queue and the due messages are done, within a budget that leaves the
    // invocation time to finish (a backlog continues on the next run).
    const withinBudget = () => Date.now() - started < runBudgetMs;
    let queued = 0;
    while (withinBudget()) {
      const batch = await expandNotifications(db, { uiUrl: config.server.uiUrl });
      queued += batch.emails;
      if (!batch.more) break;
    }
    const sender = emailSenderFor(config.email, logger);
    const outcome = { sent: 0, retrying: 0, dead: 0 };
    while (withinBudget()) {
      const batch = await deliverDueEmails(db, sender, now);
      outcome.sent += batch.sent;
      outcome.retrying += batch.retrying;
      outcome.dead += batch.dead;
      if (!batch.more) break;
    }
    // Sent messages are kept a while for the record; dead letters stay until an operator removes them.
    await db.execute(sql`delete from email_outbox where status = 'SENT' and sent_at < now() - make_interval(days => ${sentRetentionDays})`);
    if (queued > 0 || outcome.sent + outcome.retrying + outcome.dead > 0) logger.info('notifications', { queued, ...outcome });
  },
};
