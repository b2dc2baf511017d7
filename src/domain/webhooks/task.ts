// Cron: the webhook consumer's round — deliveries made from the outbox's new events, then every
// delivery due posted (first attempts, retries whose backoff has passed, redeliveries a kick missed).
import { databaseFor } from '../../runtime';
import type { ScheduledTask } from '../../scheduled/tasks';
import { makeWebhookDeliveries } from './deliveries';
import { sendDueWebhookDeliveries } from './send';

export const webhookDeliveryTask: ScheduledTask = {
  name: 'webhook-deliveries',
  async run({ config, logger, now }) {
    if (!config.database.host || !config.jwsProvider.keyEncryptionKey) return;
    const db = databaseFor(config).http;
    const made = await makeWebhookDeliveries(db, config, now);
    const sent = await sendDueWebhookDeliveries(db, config, { now, logger });
    if (made > 0 || sent > 0) logger.info('webhook deliveries', { made, sent });
  },
};
