import { sql } from 'drizzle-orm';
import { check, index, integer, pgTable, text, unique, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, updatedAt, version } from './columns';
import { organizations } from './organizations';
import { projects } from './projects';

/**
 * Who may approve (users, teams, service accounts) and how many approvals are required, at
 * organization level (`project_id` null) or in one project. Templates refer to a rule by its PRN,
 * `prn:approval_rule:<org>/<name>` or `prn:approval_rule:<org>/<project>/<name>`, so the name is
 * unique where it lives and never changes.
 */
export const approvalRules = pgTable(
  'approval_rules',
  {
    id: id(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    projectId: uuid('project_id').references(() => projects.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    approvalsRequired: integer('approvals_required').notNull(),
    userIds: uuid('user_ids').array().notNull().default(sql`'{}'`),
    teamIds: uuid('team_ids').array().notNull().default(sql`'{}'`),
    serviceAccountIds: uuid('service_account_ids').array().notNull().default(sql`'{}'`),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    version: version(),
  },
  (table) => [
    // NULLS NOT DISTINCT: organization-level rules (no project) share one namespace.
    unique('approval_rules_scope_name_key').on(table.organizationId, table.projectId, table.name).nullsNotDistinct(),
    index('approval_rules_project_idx').on(table.projectId),
    check('approval_rules_name_format', sql`${table.name} ~ '^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$'`),
    check(
      'approval_rules_approvals_required_range',
      sql`${table.approvalsRequired} between 1 and cardinality(${table.userIds}) + cardinality(${table.teamIds}) + cardinality(${table.serviceAccountIds})`,
    ),
  ],
);

export type ApprovalRule = typeof approvalRules.$inferSelect;
