// Webhooks of an organization:
//   query { organization(name: "acme") { webhooks { id url format eventKinds enabled
//     deliveries(first: 10) { edges { node { id eventKind status attempts attemptLog { responseStatus responseBody error } } } } } } }
//   mutation { createWebhook(input: { organizationId: "...", url: "https://hooks.slack.com/services/...", format: SLACK,
//     eventKinds: [APPROVAL_REQUESTED, DEPLOYMENT_FAILED] }) { webhook { id } secret } }
//   mutation { updateWebhook(input: { id: "...", metadata: { version: "1" }, enabled: false }) { webhook { id } } }
//   mutation { rotateWebhookSecret(input: { id: "..." }) { webhook { id } secret } }
//   mutation { deleteWebhook(input: { id: "..." }) { webhook { id } } }
//   mutation { redeliverWebhookDelivery(input: { id: "..." }) { delivery { id status } } }
// The signing secret is returned by createWebhook and rotateWebhookSecret only, once; no field reads it.
import { webhookFormats, type WebhookFormat } from '../../db/schema';
import { webhookEventKinds, type WebhookEventKind } from '../../domain/webhooks/event-kinds';
import { kickRedelivery } from '../../domain/webhooks/kick';
import {
  attemptsOfDelivery,
  createWebhook,
  deleteWebhook,
  deliveryCursorKey,
  listWebhooks,
  pageWebhookDeliveries,
  redeliverWebhookDelivery,
  rotateWebhookSecret,
  shownWebhookUrl,
  updateWebhook,
  webhookDeliveriesByIds,
  webhooksByIds,
  type DeliveryRow,
  type WebhookView,
} from '../../domain/webhooks/service';
import { prnOf } from '../../domain/prn';
import { builder } from '../builder';
import { keysetConnection } from '../connections';
import type { GraphQLContext } from '../context';
import { parseVersion, ResourceMetadata, ResourceMetadataInput } from '../metadata';
import { OrganizationNode } from './organizations';

const enumName = (value: string) => value.toUpperCase().replaceAll('.', '_');

const WebhookFormatEnum = builder.enumType('WebhookFormat', {
  description: 'GENERIC: our JSON event. SLACK: a Slack incoming-webhook message. TEAMS: a Microsoft Teams incoming-webhook MessageCard.',
  values: Object.fromEntries(webhookFormats.map((format) => [enumName(format), { value: format }])) as Record<string, { value: WebhookFormat }>,
});

const WebhookEventKindEnum = builder.enumType('WebhookEventKind', {
  description: 'What a webhook may hear of (README: Webhooks).',
  values: Object.fromEntries(webhookEventKinds.map((kind) => [enumName(kind), { value: kind }])) as Record<string, { value: WebhookEventKind }>,
});

const WebhookDeliveryStatusEnum = builder.enumType('WebhookDeliveryStatus', {
  values: { PENDING: { value: 'pending' }, SUCCEEDED: { value: 'succeeded' }, FAILED: { value: 'failed' } } as const,
});

const WebhookDeliveryAttemptRef = builder.objectRef<Awaited<ReturnType<typeof attemptsOfDelivery>>[number]>('WebhookDeliveryAttempt').implement({
  description: 'One POST of a delivery and what the receiver answered.',
  fields: (t) => ({
    responseStatus: t.exposeInt('responseStatus', { nullable: true, description: 'Null when no answer came (network error, timeout).' }),
    responseBody: t.exposeString('responseBody', { nullable: true, description: 'The first 1024 bytes of the answer.' }),
    error: t.exposeString('error', { nullable: true }),
    durationMs: t.exposeInt('durationMs'),
    createdAt: t.field({ type: 'Time', resolve: (attempt) => attempt.createdAt }),
  }),
});

const WebhookDeliveryNode = builder.loadableNode('WebhookDelivery', {
  description: 'One event sent (or being sent) to one webhook.',
  id: { resolve: (delivery: DeliveryRow) => delivery.id },
  load: async (ids: string[], context: GraphQLContext): Promise<DeliveryRow[]> => webhookDeliveriesByIds(context.db.http, await context.caller(), ids),
  sort: (delivery) => delivery.id,
  fields: (t) => ({
    eventKind: t.field({ type: WebhookEventKindEnum, resolve: (delivery) => delivery.eventKind as WebhookEventKind }),
    status: t.field({ type: WebhookDeliveryStatusEnum, resolve: (delivery) => delivery.status }),
    attempts: t.exposeInt('attempts', { description: 'Posts since it was made or last redelivered.' }),
    nextAttemptAt: t.field({ type: 'Time', nullable: true, resolve: (delivery) => (delivery.status === 'pending' ? delivery.nextAttemptAt : null) }),
    lastResponseStatus: t.exposeInt('lastResponseStatus', { nullable: true }),
    body: t.exposeString('body', { description: 'The raw body posted (signed with the timestamp of each attempt).' }),
    attemptLog: t.field({
      type: [WebhookDeliveryAttemptRef],
      description: 'Every post, oldest first.',
      resolve: (delivery, _args, context) => attemptsOfDelivery(context.db.http, delivery.id),
    }),
    createdAt: t.field({ type: 'Time', resolve: (delivery) => delivery.createdAt }),
  }),
});

const WebhookNode = builder.loadableNode('Webhook', {
  description: "An organization's subscription of a URL to event kinds.",
  id: { resolve: (webhook: WebhookView) => webhook.id },
  load: async (ids: string[], context: GraphQLContext): Promise<WebhookView[]> => webhooksByIds(context.db.http, await context.caller(), ids),
  sort: (webhook) => webhook.id,
  fields: (t) => ({
    url: t.string({
      description: 'The whole URL for callers who manage webhooks; its origin only for those who view them (an incoming-webhook URL is a credential).',
      resolve: async (webhook, _args, context) => shownWebhookUrl(await context.caller(), webhook),
    }),
    description: t.exposeString('description'),
    format: t.field({ type: WebhookFormatEnum, resolve: (webhook) => webhook.format }),
    eventKinds: t.field({ type: [WebhookEventKindEnum], resolve: (webhook) => webhook.eventKinds as WebhookEventKind[] }),
    enabled: t.exposeBoolean('enabled'),
    organization: t.field({ type: OrganizationNode, resolve: (webhook) => webhook.organizationId }),
    metadata: t.field({ type: ResourceMetadata, resolve: (webhook) => ({ ...webhook, prn: prnOf('webhook', webhook.organizationName, webhook.id) }) }),
    deliveries: t.connection(
      {
        type: WebhookDeliveryNode,
        description: 'Its deliveries, newest first.',
        resolve: async (webhook, args, context) => {
          const caller = await context.caller();
          return keysetConnection<DeliveryRow>(args, deliveryCursorKey, (page) => pageWebhookDeliveries(context.db.http, caller, webhook, page));
        },
      },
      { name: 'WebhookDeliveryConnection' },
      { name: 'WebhookDeliveryEdge' },
    ),
  }),
});

builder.objectField(OrganizationNode, 'webhooks', (t) =>
  t.field({
    type: [WebhookNode],
    description: "The organization's webhooks, oldest first (needs webhook:view).",
    resolve: async (organization, _args, context) => listWebhooks(context.db.http, await context.caller(), organization.id),
  }),
);

const secretDescription = 'The signing secret: shown this once, never returned again. Verify Phobos-Signature with it (README: Webhooks).';

builder.relayMutationField(
  'createWebhook',
  {
    name: 'CreateWebhookInput',
    inputFields: (t) => ({
      organizationId: t.globalID({ for: OrganizationNode, required: true }),
      url: t.string({ required: true, description: 'https (http only to a loopback receiver of a local installation).' }),
      format: t.field({ type: WebhookFormatEnum, required: true }),
      eventKinds: t.field({ type: [WebhookEventKindEnum], required: true }),
      description: t.string(),
      enabled: t.boolean({ description: 'Default true.' }),
    }),
  },
  {
    description: 'Subscribes a URL to event kinds of the organization (needs webhook:manage); returns its signing secret once.',
    resolve: async (_root, { input }, context) =>
      createWebhook(context.db.http, context.config, await context.caller(), {
        organizationId: input.organizationId.id,
        url: input.url,
        format: input.format,
        eventKinds: input.eventKinds,
        description: input.description ?? undefined,
        enabled: input.enabled ?? undefined,
      }),
  },
  {
    name: 'CreateWebhookPayload',
    outputFields: (t) => ({
      webhook: t.field({ type: WebhookNode, resolve: (payload) => payload.webhook }),
      secret: t.string({ description: secretDescription, resolve: (payload) => payload.secret }),
    }),
  },
);

builder.relayMutationField(
  'updateWebhook',
  {
    name: 'UpdateWebhookInput',
    inputFields: (t) => ({
      id: t.globalID({ for: WebhookNode, required: true }),
      metadata: t.field({ type: ResourceMetadataInput }),
      url: t.string(),
      format: t.field({ type: WebhookFormatEnum }),
      eventKinds: t.field({ type: [WebhookEventKindEnum] }),
      description: t.string(),
      enabled: t.boolean(),
    }),
  },
  {
    description: "Changes a webhook's URL, format, event kinds, description or whether it is enabled.",
    resolve: async (_root, { input }, context) => ({
      webhook: await updateWebhook(context.db.http, context.config, await context.caller(), input.id.id, {
        version: parseVersion(input.metadata),
        url: input.url ?? undefined,
        format: input.format ?? undefined,
        eventKinds: input.eventKinds ?? undefined,
        description: input.description ?? undefined,
        enabled: input.enabled ?? undefined,
      }),
    }),
  },
  { name: 'UpdateWebhookPayload', outputFields: (t) => ({ webhook: t.field({ type: WebhookNode, resolve: (payload) => payload.webhook }) }) },
);

builder.relayMutationField(
  'rotateWebhookSecret',
  {
    name: 'RotateWebhookSecretInput',
    inputFields: (t) => ({ id: t.globalID({ for: WebhookNode, required: true }), metadata: t.field({ type: ResourceMetadataInput }) }),
  },
  {
    description: 'Replaces the signing secret; returns the new one once. Deliveries posted from now on are signed with it.',
    resolve: async (_root, { input }, context) =>
      rotateWebhookSecret(context.db.http, context.config, await context.caller(), input.id.id, { version: parseVersion(input.metadata) }),
  },
  {
    name: 'RotateWebhookSecretPayload',
    outputFields: (t) => ({
      webhook: t.field({ type: WebhookNode, resolve: (payload) => payload.webhook }),
      secret: t.string({ description: secretDescription, resolve: (payload) => payload.secret }),
    }),
  },
);

builder.relayMutationField(
  'deleteWebhook',
  {
    name: 'DeleteWebhookInput',
    inputFields: (t) => ({ id: t.globalID({ for: WebhookNode, required: true }), metadata: t.field({ type: ResourceMetadataInput }) }),
  },
  {
    description: 'Deletes a webhook and its deliveries.',
    resolve: async (_root, { input }, context) => ({
      webhook: await deleteWebhook(context.db.http, await context.caller(), input.id.id, { version: parseVersion(input.metadata) }),
    }),
  },
  { name: 'DeleteWebhookPayload', outputFields: (t) => ({ webhook: t.field({ type: WebhookNode, resolve: (payload) => payload.webhook }) }) },
);

builder.relayMutationField(
  'redeliverWebhookDelivery',
  { name: 'RedeliverWebhookDeliveryInput', inputFields: (t) => ({ id: t.globalID({ for: WebhookDeliveryNode, required: true }) }) },
  {
    description: 'Sends a delivery again, now (the same body, a fresh signature); its attempts count anew.',
    resolve: async (_root, { input }, context) => {
      const delivery = await redeliverWebhookDelivery(context.db.http, await context.caller(), input.id.id);
      kickRedelivery({ db: context.db.http, config: context.config, logger: context.logger, waitUntil: context.waitUntil }, delivery.id);
      return { delivery: { ...delivery, createdAtMicros: String(delivery.createdAt.getTime() * 1000) } };
    },
  },
  {
    name: 'RedeliverWebhookDeliveryPayload',
    outputFields: (t) => ({ delivery: t.field({ type: WebhookDeliveryNode, resolve: (payload) => payload.delivery }) }),
  },
);
