import { sql } from 'drizzle-orm';
import { check, index, pgTable, unique, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, updatedAt, version } from './columns';
import { organizations } from './organizations';
import { projects } from './projects';
import { roles } from './roles';
import { serviceAccounts } from './service-accounts';
import { teams } from './teams';
import { users } from './users';

/**
 * A role binding: a user, a team or a service account holds a role in an organization, or in one
 * project of it (project_id set). Exactly one member column is set.
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
    teamId: uuid('team_id').references(() => teams.id, { onDelete: 'cascade' }),
    // A role in use cannot be deleted (no cascade): deleting it would silently take access away.
    roleId: uuid('role_id')
      .notNull()
      .references(() => roles.id),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    version: version(),
  },
  (table) => [
    // One binding per member and scope (NULLS NOT DISTINCT: an organization-level binding has no project).
    unique('memberships_member_scope_key').on(table.organizationId, table.projectId, table.userId, table.serviceAccountId, table.teamId).nullsNotDistinct(),
    index('memberships_user_idx').on(table.userId),
    index('memberships_service_account_idx').on(table.serviceAccountId),
    index('memberships_team_idx').on(table.teamId),
    index('memberships_role_idx').on(table.roleId),
    check('memberships_one_member', sql`num_nonnulls(${table.userId}, ${table.serviceAccountId}, ${table.teamId}) = 1`),
  ],
);

export type Membership = typeof memberships.$inferSelect;
