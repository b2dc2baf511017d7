import { sql } from 'drizzle-orm';
import { boolean, check, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAt, id, updatedAt, version } from './columns';

/**
 * A role: a named set of `resource:action` permissions (src/auth/rbac.ts) that a membership grants
 * in an organization or a project. Roles belong to the whole installation. The four built-in ones
 * (seeded by migration with fixed ids, src/domain/roles/built-in.ts) cannot be changed or deleted;
 * system admins add custom ones.
 */
export const roles = pgTable(
  'roles',
  {
    id: id(),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    permissions: text('permissions').array().notNull().default(sql`'{}'::text[]`),
    builtIn: boolean('built_in').notNull().default(false),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    version: version(),
  },
  (table) => [
    uniqueIndex('roles_name_key').on(table.name),
    // Custom names follow validateName; the built-in release_manager keeps the Phobos spelling.
    check('roles_name_format', sql`${table.name} ~ '^[a-z0-9]([a-z0-9_-]{0,62}[a-z0-9])?$'`),
  ],
);

export type Role = typeof roles.$inferSelect;
