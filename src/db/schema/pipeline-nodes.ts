import { sql } from 'drizzle-orm';
import { index, integer, pgTable, text, timestamp, uniqueIndex, uuid, type AnyPgColumn } from 'drizzle-orm/pg-core';
import { nodeKinds, nodeStatuses } from '../../domain/pipelines/statuses';
import { createdAt, id, updatedAt, version } from './columns';
import { pipelines } from './pipelines';

/**
 * The stages of a pipeline and, under each stage, its tasks and nested pipelines: all created with
 * the pipeline, from its template. `path` names a node in expressions and messages
 * (`stage.deploy.task.build`); `position` orders stages (run order) and the children of a stage.
 */
export const pipelineNodes = pgTable(
  'pipeline_nodes',
  {
    id: id(),
    pipelineId: uuid('pipeline_id')
      .notNull()
      .references(() => pipelines.id, { onDelete: 'cascade' }),
    parentNodeId: uuid('parent_node_id').references((): AnyPgColumn => pipelineNodes.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: nodeKinds }).notNull(),
    name: text('name').notNull(),
    path: text('path').notNull(),
    position: integer('position').notNull(),
    status: text('status', { enum: nodeStatuses }).notNull().default('CREATED'),
    /** Stages: `auto` or `pipeline_failure`; tasks and nested pipelines: `auto` or `manual`. */
    when: text('when').notNull(),
    approvalRuleIds: uuid('approval_rule_ids').array().notNull().default(sql`'{}'`),
    /** Jobs created for this task since it last (re)started: a gate's attempts. */
    attempts: integer('attempts').notNull().default(0),
    /** A gate waiting between attempts: when the cron sweep creates the next job. */
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
    nestedPipelineId: uuid('nested_pipeline_id'),
    startedAt: timestamp('started_at', { withTimezone: true }),
    completedAt: timestamp('completed_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    version: version(),
  },
  (table) => [
    uniqueIndex('pipeline_nodes_path_key').on(table.pipelineId, table.path),
    index('pipeline_nodes_due_idx').on(table.nextAttemptAt).where(sql`next_attempt_at is not null`),
  ],
);

export type PipelineNodeRow = typeof pipelineNodes.$inferSelect;
