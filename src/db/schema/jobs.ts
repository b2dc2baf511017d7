import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { jobStatuses } from '../../domain/pipelines/statuses';
import { createdAt, id, updatedAt, version } from './columns';
import { organizations } from './organizations';
import { pipelineNodes } from './pipeline-nodes';
import { pipelines } from './pipelines';
import { projects } from './projects';

/** Outputs of a job's actions, by action alias. */
export type JobOutputs = Record<string, Record<string, unknown>>;

/**
 * One execution of a task on an agent (a gate has one per attempt). `inputs` holds the task's
 * actions with their inputs evaluated when the job was created, sealed (they may carry sensitive
 * variables): the agent's job token opens them later. Timestamps per status as the API shows them.
 */
export const jobs = pgTable(
  'jobs',
  {
    id: id(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    pipelineId: uuid('pipeline_id')
      .notNull()
      .references(() => pipelines.id, { onDelete: 'cascade' }),
    nodeId: uuid('node_id')
      .notNull()
      .references(() => pipelineNodes.id, { onDelete: 'cascade' }),
    status: text('status', { enum: jobStatuses }).notNull().default('QUEUED'),
    tags: text('tags').array().notNull().default(sql`'{}'`),
    /** Sealed JSON: [{ alias, name, pluginName, actionName, inputs }]. */
    inputs: text('inputs').notNull(),
    maxDurationSeconds: integer('max_duration_seconds').notNull(),
    /** 1 for a task's first job; a gate's later attempts count up. */
    attempt: integer('attempt').notNull(),
    outputs: jsonb('outputs').$type<JobOutputs>().notNull().default({}),
    agentId: uuid('agent_id'),
    queuedAt: timestamp('queued_at', { withTimezone: true }).notNull().defaultNow(),
    pendingAt: timestamp('pending_at', { withTimezone: true }),
    runningAt: timestamp('running_at', { withTimezone: true }),
    cancelRequestedAt: timestamp('cancel_requested_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    version: version(),
  },
  (table) => [
    index('jobs_node_idx').on(table.nodeId),
    index('jobs_pipeline_idx').on(table.pipelineId),
    index('jobs_queued_idx').on(table.organizationId, table.queuedAt).where(sql`status = 'QUEUED'`),
  ],
);

export type JobRow = typeof jobs.$inferSelect;
