import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, updatedAt, version } from './columns';
import { organizations } from './organizations';
import { projects } from './projects';
import { users } from './users';

export const webhookFormats = ['generic', 'slack', 'teams'] as const;
export type WebhookFormat = (typeof webhookFormats)[number];

/**
 * An organization's subscription of one URL to event kinds (src/domain/webhooks/event-kinds.ts).
 * The signing secret is an envelope (platform/envelope.ts) bound to the row; no API returns it
 * after the create or rotate that made it.
 */
export const webhooks = pgTable(
  'webhooks',
  {
    id: id(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    description: text('description').notNull().default(''),
    url: text('url').notNull(),
    format: text('format', { enum: webhookFormats }).notNull(),
    eventKinds: text('event_kinds').array().notNull(),
    enabled: boolean('enabled').notNull().default(true),
    /** Since when it hears events: its creation, or when it was last enabled (a disabled webhook hears nothing, later either). */
    listeningSince: timestamp('listening_since', { withTimezone: true }).notNull().defaultNow(),
    encryptedSecret: text('encrypted_secret').notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    version: version(),
  },
  (table) => [
    index('webhooks_organization_idx').on(table.organizationId),
    check('webhooks_format_valid', sql`${table.format} in ('generic', 'slack', 'teams')`),
  ],
);
export type Webhook = typeof webhooks.$inferSelect;

export const webhookDeliveryStatuses = ['pending', 'succeeded', 'failed'] as const;
export type WebhookDeliveryStatus = (typeof webhookDeliveryStatuses)[number];

/**
 * One event for one webhook. The body is rendered once, when the delivery is made, so every
 * attempt and redelivery sends the same bytes (each with a fresh signature timestamp).
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: id(),
    webhookId: uuid('webhook_id')
      .notNull()
      .references(() => webhooks.id, { onDelete: 'cascade' }),
    /** The outbox row (pipeline_events.id) it was made from. */
    pipelineEventId: bigint('pipeline_event_id', { mode: 'number' }).notNull(),
    eventKind: text('event_kind').notNull(),
    body: text('body').notNull(),
    status: text('status', { enum: webhookDeliveryStatuses }).notNull().default('pending'),
    /** Attempts made since it was made or last redelivered; the limit counts from there. */
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
    /** A sender holds it until then, so two senders never post it at once. */
    lockedUntil: timestamp('locked_until', { withTimezone: true }),
    lastResponseStatus: integer('last_response_status'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [
    uniqueIndex('webhook_deliveries_event_key').on(table.webhookId, table.pipelineEventId),
    index('webhook_deliveries_webhook_idx').on(table.webhookId, table.createdAt, table.id),
    index('webhook_deliveries_due_idx').on(table.nextAttemptAt).where(sql`status = 'pending'`),
    check('webhook_deliveries_status_valid', sql`${table.status} in ('pending', 'succeeded', 'failed')`),
  ],
);
export type WebhookDelivery = typeof webhookDeliveries.$inferSelect;

/** Every POST of a delivery: what the receiver answered (status and the start of its body), or the network error. */
export const webhookDeliveryAttempts = pgTable(
  'webhook_delivery_attempts',
  {
    id: id(),
    deliveryId: uuid('delivery_id')
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: 'cascade' }),
    responseStatus: integer('response_status'),
    responseBody: text('response_body'),
    error: text('error'),
    durationMs: integer('duration_ms').notNull(),
    createdAt: createdAt(),
  },
  (table) => [index('webhook_delivery_attempts_delivery_idx').on(table.deliveryId, table.createdAt)],
);
export type WebhookDeliveryAttempt = typeof webhookDeliveryAttempts.$inferSelect;

/**
 * How far the webhook consumer has read each project's outbox. Per project, not one global number:
 * outbox ids increase in commit order only within a project (its events lock), so a global cursor
 * could step over a lower id another project commits later.
 */
export const webhookEventCursors = pgTable('webhook_event_cursors', {
  projectId: uuid('project_id')
    .primaryKey()
    .references(() => projects.id, { onDelete: 'cascade' }),
  lastEventId: bigint('last_event_id', { mode: 'number' }).notNull(),
  updatedAt: updatedAt(),
});

/** Approval links used (or being used): a link's nonce is stored once, so a second use is refused. */
export const webhookApprovalLinkUses = pgTable('webhook_approval_link_uses', {
  nonce: text('nonce').primaryKey(),
  userId: uuid('user_id')
    .notNull()
    .references(() => users.id, { onDelete: 'cascade' }),
  nodeId: uuid('node_id').notNull(),
  payload: jsonb('payload').$type<Record<string, unknown>>().notNull().default({}),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  createdAt: createdAt(),
});
