import { index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { id } from './columns';

export const initiatorKinds = ['user', 'service_account', 'system'] as const;
export type InitiatorKind = (typeof initiatorKinds)[number];

/**
 * The activity log: one row per mutation of any aggregate, written in the same transaction as the
 * mutation (a failed mutation leaves none). Organization, project and target are plain ids, not
 * foreign keys: the history of a deleted object outlives it. Names are copied in (`initiator_name`,
 * `target_prn`) for the same reason.
 */
export const activityEvents = pgTable(
  'activity_events',
  {
    id: id(),
    organizationId: uuid('organization_id'),
    projectId: uuid('project_id'),
    initiatorKind: text('initiator_kind', { enum: initiatorKinds }).notNull(),
    /** The user's or service account's id; null for the system (cron, migrations). */
    initiatorId: uuid('initiator_id'),
    initiatorName: text('initiator_name').notNull(),
    /** What was done, e.g. `create`, `update`, `delete`, `add_member`, `remove_member`, `sign_in`. */
    action: text('action').notNull(),
    /** What kind of thing it was done to, e.g. `organization`, `project`, `team`, `api_key`. */
    targetType: text('target_type').notNull(),
    targetId: uuid('target_id'),
    /** The target's PRN when it has one (`prn:project:acme/web`), kept after the target is gone. */
    targetPrn: text('target_prn'),
    /** A small, non-secret description of the change, e.g. `{ "role": { "old": "viewer", "new": "owner" } }`. */
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    index('activity_events_organization_idx').on(table.organizationId, table.createdAt),
    index('activity_events_project_idx').on(table.projectId, table.createdAt),
    index('activity_events_initiator_idx').on(table.initiatorId, table.createdAt),
    index('activity_events_created_idx').on(table.createdAt),
  ],
);

export type ActivityEvent = typeof activityEvents.$inferSelect;
