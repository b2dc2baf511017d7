import { sql } from 'drizzle-orm';
import { boolean, check, index, jsonb, uniqueIndex, pgTable, text, timestamp, uuid, type AnyPgColumn } from 'drizzle-orm/pg-core';
import type { PipelineTemplate as CompiledPipelineTemplate } from '../../domain/templates/model';
import { nodeStatuses, pipelineTypes } from '../../domain/pipelines/statuses';
import { createdAt, id, updatedAt, version } from './columns';
import { organizations } from './organizations';
import { pipelineTemplates } from './pipeline-templates';
import { projects } from './projects';

export interface PipelineAnnotation {
  key: string;
  value: string;
  link: string | null;
}

/** Who or what started a pipeline: a user, a service account, or the engine (a nested pipeline). */
export interface PipelineTrigger {
  kind: 'user' | 'service_account' | 'system';
  id: string | null;
  name: string;
}

/**
 * One run of a pipeline template. A pipeline and the nested pipelines it started form a tree under
 * `root_pipeline_id` (the root's own id for a root): the engine loads, decides and writes a tree at a
 * time, and the root's `version` orders every transition in it (engine/commit.ts). `template` is
 * the compiled template as it was when the pipeline was created; sensitive variable values are
 * sealed in `sensitive_variables`, the others are plain in `variables`.
 */
export const pipelines = pgTable(
  'pipelines',
  {
    id: id(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    /** The template version it runs; null for a RELEASE_LIFECYCLE, which runs a release lifecycle instead. */
    pipelineTemplateId: uuid('pipeline_template_id').references(() => pipelineTemplates.id),
    /** The release lifecycle version a RELEASE_LIFECYCLE runs, when known (lifecycles live in their own aggregate; no foreign key here). */
    lifecycleVersionId: uuid('lifecycle_version_id'),
    type: text('type', { enum: pipelineTypes }).notNull(),
    status: text('status', { enum: nodeStatuses }).notNull().default('CREATED'),
    environmentName: text('environment_name'),
    rootPipelineId: uuid('root_pipeline_id').notNull(),
    parentPipelineId: uuid('parent_pipeline_id').references((): AnyPgColumn => pipelines.id, { onDelete: 'cascade' }),
    parentNodeId: uuid('parent_node_id'),
    /** The release it belongs to; releases come later (no foreign key yet). */
    releaseId: uuid('release_id'),
    template: jsonb('template').$type<CompiledPipelineTemplate>().notNull(),
    variables: jsonb('variables').$type<Record<string, unknown>>().notNull().default({}),
    /** Sealed JSON object of the sensitive variables' values, or null when there are none. */
    sensitiveVariables: text('sensitive_variables'),
    annotations: jsonb('annotations').$type<PipelineAnnotation[]>().notNull().default([]),
    /** Pipeline-level approval rules (lifecycle deployments), by id. */
    approvalRuleIds: uuid('approval_rule_ids').array().notNull().default(sql`'{}'`),
    trigger: jsonb('trigger').$type<PipelineTrigger>().notNull(),
    /** A WAITING deployment: why it has not started (the environment busy, a change window, the line stopped). */
    holdReason: text('hold_reason'),
    /** A WAITING deployment: when it joined its environment's queue (the queue's order). */
    queuedAt: timestamp('queued_at', { withTimezone: true }),
    /** A rollback: ahead of every other waiting deployment of its environment. */
    queueFront: boolean('queue_front').notNull().default(false),
    /** A WAITING deployment held by a change window: when the sweep (or the hub alarm) looks at it again. */
    holdUntil: timestamp('hold_until', { withTimezone: true }),
    startedAt: timestamp('started_at', { withTimezone: true }),
    completedAt: timestamp('completed_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    version: version(),
  },
  (table) => [
    index('pipelines_project_idx').on(table.projectId, table.createdAt),
    index('pipelines_root_idx').on(table.rootPipelineId),
    check('pipelines_environment', sql`(${table.type} = 'DEPLOYMENT') = (${table.environmentName} is not null)`),
    // A NESTED pipeline always has a parent; a DEPLOYMENT has one when a release lifecycle started it; the others never do.
    check(
      'pipelines_nested_parent',
      sql`case ${table.type} when 'NESTED' then ${table.parentPipelineId} is not null and ${table.parentNodeId} is not null when 'DEPLOYMENT' then (${table.parentPipelineId} is null) = (${table.parentNodeId} is null) else ${table.parentPipelineId} is null and ${table.parentNodeId} is null end`,
    ),
    // Every pipeline runs a template version, except a release lifecycle's, which runs the lifecycle.
    check('pipelines_template', sql`(${table.type} = 'RELEASE_LIFECYCLE') = (${table.pipelineTemplateId} is null)`),
    index('pipelines_release_idx').on(table.releaseId),
    index('pipelines_environment_idx').on(table.projectId, table.environmentName, table.createdAt),
    // One deployment at a time per environment: a second one to start loses its commit and waits (deployment-gate.ts).
    uniqueIndex('pipelines_one_active_deployment_key')
      .on(table.projectId, table.environmentName)
      .where(sql`${table.type} = 'DEPLOYMENT' and ${table.status} in ('RUNNING', 'CANCELING')`),
    index('pipelines_deployment_queue_idx').on(table.projectId, table.environmentName).where(sql`${table.type} = 'DEPLOYMENT' and ${table.status} = 'WAITING'`),
  ],
);

export type PipelineRow = typeof pipelines.$inferSelect;
