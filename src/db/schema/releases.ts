import type { ReleaseLifecycleTemplate } from '../../domain/lifecycles/model';
import { sql } from 'drizzle-orm';
import { boolean, check, index, jsonb, pgTable, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, updatedAt, version } from './columns';
import { organizations } from './organizations';
import { pipelineTemplates } from './pipeline-templates';
import { projects } from './projects';

export const releaseStatuses = ['CREATED', 'IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'CANCELED'] as const;
export type ReleaseStatus = (typeof releaseStatuses)[number];

/** The due-date notice already given for a release's current due date (reset when the date changes). */
export const releaseDueNotices = ['APPROACHING', 'OVERDUE'] as const;
export type ReleaseDueNotice = (typeof releaseDueNotices)[number];

/**
 * A version of a project being shipped. The automation is a snapshot taken at creation: the
 * pipeline template version every environment deploys with (`pipeline_template_id`), and/or one per
 * environment (`environment_templates`, environment name → template id, winning over the default).
 * Variables are the values given at creation (checked against those templates): the non-sensitive
 * ones plain in `variables`, the sensitive ones sealed in `sensitive_variables`. The lifecycle is
 * referenced by id only (`lifecycle_id`, no foreign key: lifecycles may be deleted, the release keeps
 * its `lifecycle` snapshot); `lifecycle_pipeline_id` is its RELEASE_LIFECYCLE pipeline once started.
 */
export const releases = pgTable(
  'releases',
  {
    id: id(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    semanticVersion: text('semantic_version').notNull(),
    /** Derived from the version: it has a pre-release part (`1.0.0-rc.1`). */
    preRelease: boolean('pre_release').notNull(),
    /** Markdown. */
    notes: text('notes').notNull().default(''),
    dueDate: timestamp('due_date', { withTimezone: true }),
    /** Which due-date notice the cron trigger already gave for the current due date. */
    dueNotice: text('due_notice', { enum: releaseDueNotices }),
    variables: jsonb('variables').$type<Record<string, unknown>>().notNull().default({}),
    /** Sealed JSON object of the sensitive variables' values, or null when there are none. */
    sensitiveVariables: text('sensitive_variables'),
    /** Names of the sensitive variables given (their values are never returned). */
    sensitiveVariableNames: text('sensitive_variable_names').array().notNull().default(sql`'{}'`),
    pipelineTemplateId: uuid('pipeline_template_id').references(() => pipelineTemplates.id, { onDelete: 'restrict' }),
    environmentTemplates: jsonb('environment_templates').$type<Record<string, string>>().notNull().default({}),
    lifecycleId: uuid('lifecycle_id'),
    lifecycle: jsonb('lifecycle').$type<ReleaseLifecycleTemplate>(),
    lifecyclePipelineId: uuid('lifecycle_pipeline_id'),
    status: text('status', { enum: releaseStatuses }).notNull().default('CREATED'),
    createdBy: text('created_by').notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    version: version(),
  },
  (table) => [
    unique('releases_project_version_key').on(table.projectId, table.semanticVersion),
    index('releases_project_idx').on(table.projectId, table.createdAt),
    // The cron trigger's scan: releases still under way with a due date.
    index('releases_due_idx').on(table.dueDate).where(sql`due_date is not null and status in ('CREATED', 'IN_PROGRESS')`),
    check('releases_automation', sql`${table.pipelineTemplateId} is not null or ${table.environmentTemplates} <> '{}'::jsonb`),
  ],
);

export type ReleaseRow = typeof releases.$inferSelect;
