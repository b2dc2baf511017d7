// Cron: the webhook consumer's round — deliveries made from the outbox's new events, then every
// delivery due posted (first attempts, retries whose backoff has passed, redeliveries a kick missed)
// — and the clean-up: ended deliveries (with their attempts) after `deliveryRetentionDays`, and
// the used-link records of approval links past their expiry (an expired link is refused by its
// signature's expiry alone, so its nonce need not be kept).
import { sql } from 'drizzle-orm';
import type { HttpDatabase } from '../../db/client';
import { databaseFor } from '../../runtime';
import type { ScheduledTask } from '../../scheduled/tasks';
import { makeWebhookDeliveries } from './deliveries';
import { sendDueWebhookDeliveries } from './send';

/** How long a succeeded or failed delivery stays listed (and redeliverable). */
export const deliveryRetentionDays = 30;

/** Deletes what the retention rules let go; returns how many deliveries and link records went. */
export async function pruneWebhookRecords(db: HttpDatabase, now: Date): Promise<{ deliveries: number; linkUses: number }> {
  const cutoff = new Date(now.getTime() - deliveryRetentionDays * 24 * 60 * 60 * 1000).toISOString();
  const [deliveries, linkUses] = await db.batch([
    db.execute(sql`delete from webhook_deliveries where status <> 'pending' and updated_at < ${cutoff} returning id`),
    db.execute(sql`delete from webhook_approval_link_uses where expires_at < ${now.toISOString()} returning nonce`),
  ]);
  return { deliveries: deliveries.rows.length, linkUses: linkUses.rows.length };
}

export const webhookDeliveryTask: ScheduledTask = {
  name: 'webhook-deliveries',
  async run({ config, logger, now }) {
    if (!config.database.host || !config.jwsProvider.keyEncryptionKey) return;
    const db = databaseFor(config).http;
    const made = await makeWebhookDeliveries(db, config, now);
    const sent = await sendDueWebhookDeliveries(db, config, { now, logger });
    const pruned = await pruneWebhookRecords(db, now);
    if (made > 0 || sent > 0 || pruned.deliveries > 0) logger.info('webhook deliveries', { made, sent, pruned: pruned.deliveries });
  },
};
