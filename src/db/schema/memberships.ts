import { sql } from 'drizzle-orm';
import { check, index, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, updatedAt, version } from './columns';
import { organizations } from './organizations';
import { users } from './users';

export const roleNames = ['owner', 'release_manager', 'deployer', 'developer', 'viewer'] as const;
export type RoleName = (typeof roleNames)[number];

/** A user's role in an organization. Project-level bindings arrive with projects. */
export const memberships = pgTable(
  'memberships',
  {
    id: id(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    role: text('role', { enum: roleNames }).notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    version: version(),
  },
  (table) => [
    uniqueIndex('memberships_organization_user_key').on(table.organizationId, table.userId),
    index('memberships_user_idx').on(table.userId),
    check('memberships_role_valid', sql`${table.role} in ('owner', 'release_manager', 'deployer', 'developer', 'viewer')`),
  ],
);

export type Membership = typeof memberships.$inferSelect;
