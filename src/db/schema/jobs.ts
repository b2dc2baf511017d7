import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { agentSessions, agents } from './agents';
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
    /** The agent the job is routed to (set while QUEUED, before any claim), then the one that ran it. */
    agentId: uuid('agent_id').references(() => agents.id, { onDelete: 'set null' }),
    /** The agent session holding the job's current lease (PENDING, RUNNING, CANCELING). */
    sessionId: uuid('session_id').references(() => agentSessions.id, { onDelete: 'set null' }),
    /** When the agent's queue acknowledged the enqueue; null while the enqueue is owed (the sweep repeats it). */
    dispatchedAt: timestamp('dispatched_at', { withTimezone: true }),
    /** Leases granted so far; a job whose lease expired this many times (the attempt limit) fails. */
    leaseCount: integer('lease_count').notNull().default(0),
    /** Bytes of log stored (the JobLog object's size once the job ended). */
    logSize: bigint('log_size', { mode: 'number' }).notNull().default(0),
    /** The log reached its cap and later output was dropped. */
    logTruncated: boolean('log_truncated').notNull().default(false),
    /** When the retention clean-up deleted the stored log (src/domain/job-logs/retention.ts); null while it is kept. */
    logDeletedAt: timestamp('log_deleted_at', { withTimezone: true }),
    /** Why the job failed or was canceled when the platform ended it (lease expiry, no agent, ...). */
    failureReason: text('failure_reason'),
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
    // The jobs a dispatch still owes a queue (not routed, or routed and not acknowledged), by project:
    // every commit's dispatch reads these, and must not walk the project's whole dispatched backlog.
    index('jobs_owed_dispatch_idx').on(table.projectId, table.queuedAt).where(sql`status = 'QUEUED' and (agent_id is null or dispatched_at is null)`),
    // The finished jobs whose log the retention clean-up has yet to delete, oldest end first.
    index('jobs_log_retention_idx').on(table.finishedAt).where(sql`log_deleted_at is null and status IN ('FINISHED', 'FAILED', 'CANCELED')`),
    index('jobs_agent_active_idx').on(table.agentId).where(sql`status IN ('QUEUED', 'PENDING', 'RUNNING', 'CANCELING')`),
  ],
);

export type JobRow = typeof jobs.$inferSelect;
