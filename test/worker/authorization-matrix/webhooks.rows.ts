// Authorization rows of webhooks: changing them (and redelivering) takes webhook:manage (owners);
// the approval link routes are public — the link's signature is the only credential, so without a
// valid one everyone gets the same answer.
import { env } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import { createWebhook } from '../../../src/domain/webhooks/service';
import { globalId } from '../../support/graphql';
import { adminCaller, graphqlOutcome, h, inTenant, owners, restOutcome, same, tenant, type Row } from './world';

/** A receiver nothing listens on: a redelivery's immediate post fails fast. */
const closedUrl = () => `http://127.0.0.1:${(env as unknown as Record<string, string>).TEST_DATABASE_CLOSED_PORT}/hook`;

async function webhook(): Promise<string> {
  const { webhook } = await createWebhook(h.db.http, h.config, adminCaller, {
    organizationId: tenant.id,
    url: closedUrl(),
    format: 'generic',
    eventKinds: ['deployment.failed'],
  });
  return webhook.id;
}

async function delivery(): Promise<string> {
  const webhookId = await webhook();
  const rows = await h.db.http.execute<{ id: string }>(sql`
    insert into webhook_deliveries (webhook_id, pipeline_event_id, event_kind, body, status, attempts)
    values (${webhookId}, 1, 'deployment.failed', '{}', 'failed', 8) returning id`);
  return globalId('WebhookDelivery', rows.rows[0]!.id);
}

export const graphqlRows: Record<string, Row> = {
  'Mutation.createWebhook': {
    run: (a) =>
      graphqlOutcome(a, 'mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id } } }', {
        input: { organizationId: globalId('Organization', tenant.id), url: closedUrl(), format: 'SLACK', eventKinds: ['APPROVAL_REQUESTED'] },
      }),
    expected: inTenant(owners),
  },
  'Mutation.updateWebhook': {
    run: async (a) =>
      graphqlOutcome(a, 'mutation($input: UpdateWebhookInput!) { updateWebhook(input: $input) { webhook { id } } }', {
        input: { id: globalId('Webhook', await webhook()), enabled: false },
      }),
    expected: inTenant(owners),
  },
  'Mutation.rotateWebhookSecret': {
    run: async (a) =>
      graphqlOutcome(a, 'mutation($input: RotateWebhookSecretInput!) { rotateWebhookSecret(input: $input) { secret } }', {
        input: { id: globalId('Webhook', await webhook()) },
      }),
    expected: inTenant(owners),
  },
  'Mutation.deleteWebhook': {
    run: async (a) =>
      graphqlOutcome(a, 'mutation($input: DeleteWebhookInput!) { deleteWebhook(input: $input) { webhook { id } } }', {
        input: { id: globalId('Webhook', await webhook()) },
      }),
    expected: inTenant(owners),
  },
  'Mutation.redeliverWebhookDelivery': {
    run: async (a) =>
      graphqlOutcome(a, 'mutation($input: RedeliverWebhookDeliveryInput!) { redeliverWebhookDelivery(input: $input) { delivery { id } } }', {
        input: { id: await delivery() },
      }),
    expected: inTenant(owners),
  },
};

export const restRows: Record<string, Row> = {
  'GET /webhooks/approvals': { run: (a) => restOutcome(a, 'GET', '/webhooks/approvals?token=forged.link'), expected: same('status 400') },
  'POST /webhooks/approvals': { run: (a) => restOutcome(a, 'POST', '/webhooks/approvals', {}), expected: same('status 415') },
};
