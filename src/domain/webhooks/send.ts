// Posting deliveries: each due, pending delivery is claimed (a short lock, so two senders never post
// it at once), posted with its signature, and its attempt recorded with the receiver's status and
// the start of its body (or the network error). A 2xx delivers it; a network error, a timeout, a
// 429 or a 5xx is retried with exponential backoff until `maxAttempts`, then it has failed; any
// other answer (a 4xx, a redirect — never followed, so a receiver cannot bounce us to an internal
// address) fails it at once. Redelivery (service.ts) makes it pending again.
import { sql } from 'drizzle-orm';
import type { PhobosConfig } from '../../config/load';
import type { HttpDatabase } from '../../db/client';
import type { Logger } from '../../platform/logger';
import { openWebhookSecret } from './secrets';
import { signatureHeader } from './signature';

export const webhookDeliveryPolicy = {
  /** Posts per delivery before it is failed (counted anew on redelivery). */
  maxAttempts: 8,
  /** The wait after the first failed attempt; each next one doubles it (30 s, 1 min, … 32 min). */
  firstRetryDelayMs: 30_000,
  /** How long a receiver has to answer. */
  timeoutMs: 10_000,
  /** How much of a response body is kept with the attempt. */
  responseBodyLimit: 1024,
  /** Deliveries claimed per round. */
  batchSize: 50,
  /** Posts in flight at once (an invocation has six simultaneous connections; the database takes one). */
  concurrency: 4,
} as const;

/** How a request reaches the receiver: `fetch`, or a test's receiver. */
export type WebhookTransport = (request: Request) => Promise<Response>;

type ClaimedDelivery = {
  id: string;
  webhook_id: string;
  body: string;
  attempts: number;
  url: string;
  encrypted_secret: string;
};

type Outcome = { status: number | null; body: string | null; error: string | null; durationMs: number };

/** The retry delay after `attempts` failed posts. */
export const retryDelayMs = (attempts: number) => webhookDeliveryPolicy.firstRetryDelayMs * 2 ** (attempts - 1);

const retryable = (outcome: Outcome) => outcome.status === null || outcome.status === 429 || outcome.status >= 500;

async function readStart(response: Response, limit: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < limit) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  await reader.cancel().catch(() => {});
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes.slice(0, limit));
}

async function post(config: Pick<PhobosConfig, 'jwsProvider'>, transport: WebhookTransport, delivery: ClaimedDelivery, now: Date): Promise<Outcome> {
  const started = Date.now();
  try {
    const secret = await openWebhookSecret(config, delivery.webhook_id, delivery.encrypted_secret);
    const request = new Request(delivery.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Phobos-Webhooks/1',
        'phobos-webhook-id': delivery.webhook_id,
        'phobos-delivery-id': delivery.id,
        'phobos-signature': await signatureHeader(secret, delivery.body, now),
      },
      body: delivery.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(webhookDeliveryPolicy.timeoutMs),
    });
    const response = await transport(request);
    const body = await readStart(response, webhookDeliveryPolicy.responseBodyLimit);
    return { status: response.status, body, error: null, durationMs: Date.now() - started };
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { status: null, body: null, error: message.slice(0, 500), durationMs: Date.now() - started };
  }
}

async function record(db: HttpDatabase, delivery: ClaimedDelivery, outcome: Outcome, now: Date): Promise<void> {
  const attempts = delivery.attempts + 1;
  const succeeded = outcome.status !== null && outcome.status >= 200 && outcome.status < 300;
  const retry = !succeeded && retryable(outcome) && attempts < webhookDeliveryPolicy.maxAttempts;
  const status = succeeded ? 'succeeded' : retry ? 'pending' : 'failed';
  const nextAttemptAt = retry ? new Date(now.getTime() + retryDelayMs(attempts)).toISOString() : null;
  await db.batch([
    db.execute(sql`
      insert into webhook_delivery_attempts (delivery_id, response_status, response_body, error, duration_ms)
      values (${delivery.id}, ${outcome.status}, ${outcome.body}, ${outcome.error}, ${outcome.durationMs})`),
    db.execute(sql`
      update webhook_deliveries set attempts = ${attempts}, status = ${status}, next_attempt_at = ${nextAttemptAt},
        last_response_status = ${outcome.status}, locked_until = null, updated_at = now()
      where id = ${delivery.id}`),
  ]);
}

/**
 * Posts every delivery due at `now` (each once per call); returns how many attempts it made.
 * `deliveryIds` narrows it to those (a redelivery's kick).
 */
export async function sendDueWebhookDeliveries(
  db: HttpDatabase,
  config: Pick<PhobosConfig, 'jwsProvider'>,
  options: { now: Date; transport?: WebhookTransport; logger?: Logger; deliveryIds?: readonly string[] },
): Promise<number> {
  const transport = options.transport ?? ((request: Request) => fetch(request));
  const { now } = options;
  const only = options.deliveryIds ? sql`and d.id = any(${`{${options.deliveryIds.join(',')}}`}::uuid[])` : sql``;
  // Claimed for longer than a post can take: a sender that dies leaves it to be claimed again then.
  const lockedUntil = new Date(now.getTime() + webhookDeliveryPolicy.timeoutMs * 3).toISOString();
  const claimed = await db.execute<ClaimedDelivery>(sql`
    update webhook_deliveries d set locked_until = ${lockedUntil}
    from webhooks w
    where w.id = d.webhook_id and w.enabled and d.id in (
      select d.id from webhook_deliveries d
      where d.status = 'pending' and d.next_attempt_at <= ${now.toISOString()} and (d.locked_until is null or d.locked_until < ${now.toISOString()}) ${only}
      order by d.next_attempt_at, d.id
      limit ${webhookDeliveryPolicy.batchSize}
      for update of d skip locked)
    returning d.id, d.webhook_id, d.body, d.attempts, w.url, w.encrypted_secret`);
  const queue = [...claimed.rows];
  const worker = async () => {
    for (let delivery = queue.shift(); delivery; delivery = queue.shift()) {
      const outcome = await post(config, transport, delivery, now);
      await record(db, delivery, outcome, now);
      if (outcome.error) options.logger?.warn('webhook delivery failed to reach its receiver', { deliveryId: delivery.id, error: outcome.error });
    }
  };
  await Promise.all(Array.from({ length: webhookDeliveryPolicy.concurrency }, worker));
  return claimed.rows.length;
}
