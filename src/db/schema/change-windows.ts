import { sql } from 'drizzle-orm';
import { check, index, integer, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id } from './columns';
import { environments } from './environments';
import { organizations } from './organizations';
import { projects } from './projects';

export const changeWindowKinds = ['ALLOW', 'DENY'] as const;
export const changeWindowRecurrences = ['WEEKLY', 'ONCE'] as const;

/**
 * When deployments may (`ALLOW`) or may not (`DENY`) start, for one environment (`environment_id`)
 * or for every environment of an organization (`environment_id` null). A WEEKLY window opens on
 * each of `days_of_week` (ISO: 1 Monday … 7 Sunday) at `start_time` and closes at `end_time`
 * (the next day when it is not later than the start), wall-clock time in `time_zone` (IANA); a ONCE
 * window is open from `starts_at` to `ends_at`. Checked when a deployment is about to start
 * (src/domain/pipelines/deployment-gate.ts), not when it is created.
 */
export const changeWindows = pgTable(
  'change_windows',
  {
    id: id(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    projectId: uuid('project_id').references(() => projects.id, { onDelete: 'cascade' }),
    environmentId: uuid('environment_id').references(() => environments.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    kind: text('kind', { enum: changeWindowKinds }).notNull(),
    recurrence: text('recurrence', { enum: changeWindowRecurrences }).notNull(),
    daysOfWeek: integer('days_of_week').array().notNull().default(sql`'{}'`),
    /** `HH:MM`, WEEKLY only. */
    startTime: text('start_time'),
    endTime: text('end_time'),
    timeZone: text('time_zone'),
    startsAt: timestamp('starts_at', { withTimezone: true }),
    endsAt: timestamp('ends_at', { withTimezone: true }),
    createdBy: text('created_by').notNull(),
    createdAt: createdAt(),
  },
  (table) => [
    index('change_windows_organization_idx').on(table.organizationId),
    index('change_windows_environment_idx').on(table.environmentId),
    check('change_windows_scope', sql`(${table.projectId} is null) = (${table.environmentId} is null)`),
    check(
      'change_windows_shape',
      sql`case ${table.recurrence} when 'WEEKLY' then ${table.startTime} is not null and ${table.endTime} is not null and ${table.timeZone} is not null and cardinality(${table.daysOfWeek}) > 0 else ${table.startsAt} is not null and ${table.endsAt} > ${table.startsAt} end`,
    ),
  ],
);

export type ChangeWindowRow = typeof changeWindows.$inferSelect;

/**
 * An organization's "stop the line": while a row exists, no deployment of the organization starts
 * (they wait, visibly); deleting it moves the waiting ones on.
 */
export const deploymentStops = pgTable('deployment_stops', {
  organizationId: uuid('organization_id')
    .primaryKey()
    .references(() => organizations.id, { onDelete: 'cascade' }),
  reason: text('reason').notNull(),
  stoppedBy: text('stopped_by').notNull(),
  stoppedAt: timestamp('stopped_at', { withTimezone: true }).notNull().defaultNow(),
});

export type DeploymentStopRow = typeof deploymentStops.$inferSelect;

/**
 * An environment whose automatic promotion is paused (a rollback pauses it): release lifecycles'
 * deployments into it wait, visibly, until someone resumes it; deployments started by hand do not.
 * Keyed by environment name, as protection rules are: it holds across a deleted and re-created
 * environment, and lifecycle deployments name environments, not ids.
 */
export const environmentPromotionPauses = pgTable(
  'environment_promotion_pauses',
  {
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    environmentName: text('environment_name').notNull(),
    reason: text('reason').notNull(),
    pausedBy: text('paused_by').notNull(),
    pausedAt: timestamp('paused_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.projectId, table.environmentName] })],
);

export type EnvironmentPromotionPauseRow = typeof environmentPromotionPauses.$inferSelect;
