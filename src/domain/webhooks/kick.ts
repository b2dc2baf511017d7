// A webhook round right after a commit, in the background (waitUntil), so a chat hears of an
// approval request in seconds rather than at the next cron minute: the committing project's new
// events become deliveries and those are posted. For a project whose organization has no enabled
// webhook it costs one query. The cron task (task.ts) runs the same round for every project, so a
// kick that never ran or failed loses nothing.
import type { PhobosConfig } from '../../config/load';
import type { HttpDatabase } from '../../db/client';
import type { Logger } from '../../platform/logger';
import { makeWebhookDeliveries, type DeliveryScope } from './deliveries';
import { sendDueWebhookDeliveries, type WebhookTransport } from './send';

export interface WebhookKickContext {
  db: HttpDatabase;
  config: PhobosConfig;
  logger: Logger;
  waitUntil: (promise: Promise<unknown>) => void;
  transport?: WebhookTransport;
}

/** After a commit that wrote outbox events of `scope`. */
export function kickWebhookDeliveries(context: WebhookKickContext, scope: Exclude<DeliveryScope, 'all'>): void {
  if (!context.config.jwsProvider.keyEncryptionKey) return;
  const round = async () => {
    const now = new Date();
    const made = await makeWebhookDeliveries(context.db, context.config, now, scope);
    if (made > 0) await sendDueWebhookDeliveries(context.db, context.config, { now, logger: context.logger, transport: context.transport });
  };
  context.waitUntil(round().catch((error: unknown) => context.logger.warn('webhook round after commit failed; the cron task will retry', { error })));
}

/** After a redelivery: posts that delivery now. */
export function kickRedelivery(context: WebhookKickContext, deliveryId: string): void {
  context.waitUntil(
    sendDueWebhookDeliveries(context.db, context.config, {
      now: new Date(),
      logger: context.logger,
      transport: context.transport,
      deliveryIds: [deliveryId],
    }).catch((error: unknown) => context.logger.warn('redelivery failed to post; the cron task will retry', { deliveryId, error })),
  );
}
