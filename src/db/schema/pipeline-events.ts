import { sql } from 'drizzle-orm';
import { bigint, bigserial, index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { projects } from './projects';

/**
 * The engine's outbox: every pipeline, node, approval and job transition writes one row here in the
 * same transaction as the change. After commit the rows are handed to the project's event hub
 * (a Durable Object) which fans them out to subscribers, and the project's cursor
 * (`pipeline_event_cursors`) moves past them; rows the hand-off missed (a crash between commit and
 * publish) are still past the cursor and are published by the cron sweep. A subscriber that
 * reconnects with its last event id replays `id > last` from here, so ids are a per-database
 * sequence, increasing in commit order within a project as far as subscribers can observe.
 */
export const pipelineEvents = pgTable(
  'pipeline_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    organizationId: uuid('organization_id').notNull(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    pipelineId: uuid('pipeline_id'),
    jobId: uuid('job_id'),
    /** The release whose pipelines these are (its lifecycle and deployments), for a release's subscribers. */
    releaseId: uuid('release_id'),
    /** `pipeline`, `node`, `approval` or `job`, with `.` and what happened: `node.status_changed`. */
    kind: text('kind').notNull(),
    /** Non-secret: ids, statuses, names; never variable values. */
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    index('pipeline_events_project_idx').on(table.projectId, table.id),
    index('pipeline_events_pipeline_idx').on(table.pipelineId, table.id),
    index('pipeline_events_release_idx').on(table.releaseId, table.id).where(sql`release_id is not null`),
  ],
);

export type PipelineEvent = typeof pipelineEvents.$inferSelect;

/**
 * How far each project's outbox has been handed to its hub: every row of the project with an id up
 * to `published_through` was published. One row per project moved by each publish, where marking
 * each event published rewrote every event row (and left the dead versions to vacuum): ids increase
 * in commit order within a project (outbox.ts), so the published rows are always a prefix.
 */
export const pipelineEventCursors = pgTable('pipeline_event_cursors', {
  projectId: uuid('project_id')
    .primaryKey()
    .references(() => projects.id, { onDelete: 'cascade' }),
  publishedThrough: bigint('published_through', { mode: 'number' }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});
