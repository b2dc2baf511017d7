import { sql } from 'drizzle-orm';
import { bigint, bigserial, boolean, index, integer, jsonb, pgTable, text, timestamp, unique, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id } from './columns';
import { projects } from './projects';
import { users } from './users';

export const notificationKinds = ['APPROVAL_REQUESTED', 'MANUAL_TASK_WAITING', 'PIPELINE_FAILED', 'RELEASE_FINISHED', 'RELEASE_DUE_DATE'] as const;
export type NotificationKind = (typeof notificationKinds)[number];

/**
 * What may owe someone an email, written in the same transaction as its cause: a trigger on
 * `pipeline_events` (migration 0024) copies the events that can notify (a node or pipeline waiting
 * for approval or a start, a pipeline ending), and the due-date sweep writes its notices in the
 * statement that flags them. The notifier (src/domain/notifications/expand.ts) turns each row into
 * email outbox rows for its recipients and deletes it in one batch.
 */
export const notificationQueue = pgTable('notification_queue', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  /** The cause: a pipeline event's kind (`node.status_changed`, `pipeline.status_changed`) or `release.due_date`. */
  source: text('source').notNull(),
  /** The pipeline event it copies, if any. */
  eventId: bigint('event_id', { mode: 'number' }),
  organizationId: uuid('organization_id').notNull(),
  projectId: uuid('project_id').notNull(),
  pipelineId: uuid('pipeline_id'),
  releaseId: uuid('release_id'),
  payload: jsonb('payload').$type<Record<string, unknown>>().notNull().default({}),
  createdAt: createdAt(),
});

export type NotificationQueueRow = typeof notificationQueue.$inferSelect;

export const emailStatuses = ['PENDING', 'SENT', 'DEAD'] as const;
export type EmailStatus = (typeof emailStatuses)[number];

/**
 * The email outbox: one row per message and recipient, delivered by the cron trigger (never inside a
 * request), retried with exponential backoff, and kept as a dead letter (`DEAD`, with the last
 * error) after the last attempt. `dedupe_key` makes the notifier idempotent: two runs expanding the
 * same queue row write each message once.
 */
export const emailOutbox = pgTable(
  'email_outbox',
  {
    id: id(),
    recipient: text('recipient').notNull(),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
    notificationKind: text('notification_kind', { enum: notificationKinds }),
    projectId: uuid('project_id').references(() => projects.id, { onDelete: 'cascade' }),
    subject: text('subject').notNull(),
    textBody: text('text_body').notNull(),
    htmlBody: text('html_body'),
    dedupeKey: text('dedupe_key'),
    status: text('status', { enum: emailStatuses }).notNull().default('PENDING'),
    attempts: integer('attempts').notNull().default(0),
    /** When a PENDING message is next tried; a claim pushes it past the attempt's lease. */
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    /** The last failure: the peer's answer, or the message of an unexpected error. Never a body. */
    lastError: text('last_error'),
    createdAt: createdAt(),
    sentAt: timestamp('sent_at', { withTimezone: true }),
  },
  (table) => [
    uniqueIndex('email_outbox_dedupe_key').on(table.dedupeKey),
    index('email_outbox_due_idx').on(table.nextAttemptAt).where(sql`status = 'PENDING'`),
    index('email_outbox_status_idx').on(table.status, table.createdAt),
  ],
);

export type EmailOutboxRow = typeof emailOutbox.$inferSelect;

/**
 * A user's choice for one kind of notification, everywhere (`project_id` null) or in one project (which
 * wins over the everywhere choice). Without a row, a notification is on.
 */
export const notificationPreferences = pgTable(
  'notification_preferences',
  {
    id: id(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: notificationKinds }).notNull(),
    projectId: uuid('project_id').references(() => projects.id, { onDelete: 'cascade' }),
    enabled: boolean('enabled').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [unique('notification_preferences_key').on(table.userId, table.kind, table.projectId).nullsNotDistinct()],
);

export type NotificationPreferenceRow = typeof notificationPreferences.$inferSelect;
