import { sql } from 'drizzle-orm';
import { check, index, pgTable, text, unique, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, updatedAt, version } from './columns';
import { organizations } from './organizations';
import { projects } from './projects';
import { serviceAccounts } from './service-accounts';
import { users } from './users';

export const roleNames = ['owner', 'release_manager', 'deployer', 'developer', 'viewer'] as const;
export type RoleName = (typeof roleNames)[number];

/**
 * A role binding: a user or a service account holds a role in an organization, or in one project
 * of it (project_id set). Exactly one member column is set.
 */
export const memberships = pgTable(
  'memberships',
  {
    id: id(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    projectId: uuid('project_id').references(() => projects.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
    serviceAccountId: uuid('service_account_id').references(() => serviceAccounts.id, { onDelete: 'cascade' }),
    role: text('role', { enum: roleNames }).notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    version: version(),
  },
  (table) => [
    // One binding per member and scope (NULLS NOT DISTINCT: an organization-level binding has no project).
    unique('memberships_member_scope_key').on(table.organizationId, table.projectId, table.userId, table.serviceAccountId).nullsNotDistinct(),
    index('memberships_user_idx').on(table.userId),
    index('memberships_service_account_idx').on(table.serviceAccountId),
    check('memberships_role_valid', sql`${table.role} in ('owner', 'release_manager', 'deployer', 'developer', 'viewer')`),
    check('memberships_one_member', sql`num_nonnulls(${table.userId}, ${table.serviceAccountId}) = 1`),
  ],
);

export type Membership = typeof memberships.$inferSelect;
