// Deliveries posted over a real socket to a Node receiver that verifies Phobos-Signature with
// node:crypto as the README tells receivers to (test/support/webhook-receiver.ts): a receiver
// holding the secret accepts, one holding another secret refuses (401, the delivery fails without
// retries), a 503 is retried, and a rotated secret signs the next post. The sender is the Worker's
// code (fetch, Web Crypto), run in Node against the test database through the bridge.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Caller } from '../../src/auth/rbac';
import { loadConfig, type PhobosConfig } from '../../src/config/load';
import { createDatabase, type HttpDatabase } from '../../src/db/client';
import { sendDueWebhookDeliveries } from '../../src/domain/webhooks/send';
import { createWebhook, rotateWebhookSecret } from '../../src/domain/webhooks/service';
import { databaseVars } from '../support/dev-worker';
import { createTestDatabase } from '../support/node-database';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

let db: HttpDatabase;
let config: PhobosConfig;
let admin: Caller;
let organizationId: string;
const receivers: WebhookReceiver[] = [];

beforeAll(async () => {
  const database = await createTestDatabase();
  const bridgeUrl = inject('database').bridgeUrl;
  config = loadConfig(databaseVars(database.url, bridgeUrl));
  db = createDatabase({ connectionString: database.url, proxyUrl: bridgeUrl }).http;
  const [user] = (await database.query<{ id: string }>(`insert into users (username, email, is_admin) values ('root', 'root@example.com', true) returning id`))
    .rows;
  admin = { principal: { kind: 'user', userId: user!.id, username: 'root', email: '', isAdmin: true, via: 'access_token' }, bindings: [] };
  organizationId = (await database.query<{ id: string }>(`insert into organizations (name) values ('acme') returning id`)).rows[0]!.id;
});

afterAll(async () => {
  for (const receiver of receivers) await receiver.close();
});

/** A webhook posting to a receiver that holds its secret (or another one), with one delivery due. */
async function webhookTo(options: { wrongSecret?: boolean } = {}) {
  const receiver = await startWebhookReceiver();
  receivers.push(receiver);
  const { webhook, secret } = await createWebhook(db, config, admin, {
    organizationId,
    url: receiver.url,
    format: 'generic',
    eventKinds: ['deployment.failed'],
  });
  receiver.holdSecret(options.wrongSecret ? 'whsec_someone-elses' : secret);
  const [delivery] = (
    await db.execute<{ id: string }>(sql`
      insert into webhook_deliveries (webhook_id, pipeline_event_id, event_kind, body, next_attempt_at)
      values (${webhook.id}, 1, 'deployment.failed', ${JSON.stringify({ event: 'deployment.failed', note: 'ünïcödé' })}, now()) returning id`)
  ).rows;
  return { webhook, receiver, deliveryId: delivery!.id };
}

/**
 * A moment at which a delivery queued just now is due. Its next_attempt_at is PostgreSQL's now(), in
 * microseconds; a JavaScript Date in the same millisecond is truncated to it and can be the earlier.
 */
const dueNow = () => new Date(Date.now() + 1000);

const deliveryRow = async (id: string) =>
  (
    await db.execute<{ status: string; attempts: number; last_response_status: number | null }>(
      sql`select status, attempts, last_response_status from webhook_deliveries where id = ${id}`,
    )
  ).rows[0];

describe('deliveries to a Node receiver', () => {
  it('are accepted by a receiver holding the secret, with the documented headers', async () => {
    const { webhook, receiver, deliveryId } = await webhookTo();
    expect(await sendDueWebhookDeliveries(db, config, { now: dueNow(), deliveryIds: [deliveryId] })).toBe(1);
    expect(receiver.received).toHaveLength(1);
    const [received] = receiver.received;
    expect(received!.verified).toBe(true);
    expect(received!.headers).toMatchObject({ 'content-type': 'application/json', 'phobos-webhook-id': webhook.id, 'phobos-delivery-id': deliveryId });
    expect(JSON.parse(received!.body)).toEqual({ event: 'deployment.failed', note: 'ünïcödé' });
    expect(await deliveryRow(deliveryId)).toEqual({ status: 'succeeded', attempts: 1, last_response_status: 200 });
  });

  it('are refused by a receiver holding another secret, and fail without a retry', async () => {
    const { receiver, deliveryId } = await webhookTo({ wrongSecret: true });
    await sendDueWebhookDeliveries(db, config, { now: dueNow(), deliveryIds: [deliveryId] });
    expect(receiver.received.map((item) => item.verified)).toEqual([false]);
    expect(await deliveryRow(deliveryId)).toEqual({ status: 'failed', attempts: 1, last_response_status: 401 });
    const [attempt] = (await db.execute<{ response_body: string }>(sql`select response_body from webhook_delivery_attempts where delivery_id = ${deliveryId}`))
      .rows;
    expect(attempt!.response_body).toBe('signature mismatch');
  });

  it('are retried after a 503, and signed with a rotated secret once rotated', async () => {
    const { webhook, receiver, deliveryId } = await webhookTo();
    receiver.answer(503);
    await sendDueWebhookDeliveries(db, config, { now: dueNow(), deliveryIds: [deliveryId] });
    expect(await deliveryRow(deliveryId)).toEqual({ status: 'pending', attempts: 1, last_response_status: 503 });

    await rotateWebhookSecret(db, config, admin, webhook.id);
    receiver.answer(200);
    await sendDueWebhookDeliveries(db, config, { now: new Date(Date.now() + 60_000), deliveryIds: [deliveryId] });
    // The receiver still holds the old secret: the new signature does not verify there.
    expect(receiver.received.map((item) => item.verified)).toEqual([true, false]);
    expect(await deliveryRow(deliveryId)).toMatchObject({ status: 'failed', last_response_status: 401 });
  });
});
