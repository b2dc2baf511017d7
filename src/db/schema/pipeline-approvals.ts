import { sql } from 'drizzle-orm';
import { check, index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id } from './columns';
import { pipelineNodes } from './pipeline-nodes';
import { pipelines } from './pipelines';

/**
 * One principal's approval of a node (or, for lifecycle deployments later, of a whole pipeline):
 * it counts toward each rule in `approval_rule_ids` (the node's rules that name the principal when
 * it approved). Revoking keeps the row with `revoked_at`; a principal has at most one live approval
 * per target.
 */
export const pipelineApprovals = pgTable(
  'pipeline_approvals',
  {
    id: id(),
    pipelineId: uuid('pipeline_id')
      .notNull()
      .references(() => pipelines.id, { onDelete: 'cascade' }),
    nodeId: uuid('node_id').references(() => pipelineNodes.id, { onDelete: 'cascade' }),
    approvalRuleIds: uuid('approval_rule_ids').array().notNull(),
    userId: uuid('user_id'),
    serviceAccountId: uuid('service_account_id'),
    /** The approver's name when it approved, for display after the account is gone. */
    principalName: text('principal_name').notNull(),
    createdAt: createdAt(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (table) => [
    uniqueIndex('pipeline_approvals_active_key')
      .on(
        table.pipelineId,
        sql`coalesce(${table.nodeId}, '00000000-0000-0000-0000-000000000000'::uuid)`,
        sql`coalesce(${table.userId}, ${table.serviceAccountId})`,
      )
      .where(sql`revoked_at is null`),
    index('pipeline_approvals_node_idx').on(table.nodeId),
    check('pipeline_approvals_one_principal', sql`(${table.userId} is null) <> (${table.serviceAccountId} is null)`),
  ],
);

export type PipelineApprovalRow = typeof pipelineApprovals.$inferSelect;
