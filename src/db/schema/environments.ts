import { sql } from 'drizzle-orm';
import { check, index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, updatedAt, version } from './columns';
import { organizations } from './organizations';
import { projects } from './projects';

/**
 * A named deployment target of a project (`prod`, `dev-1`). Deleting one only sets `deleted_at`:
 * the row stays for the history that names it (activity, deployments), and its name is free again
 * (the name is unique among live environments only). `organization_id` is the project's, kept here
 * so authorization needs no join.
 */
export const environments = pgTable(
  'environments',
  {
    id: id(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    version: version(),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
  },
  (table) => [
    uniqueIndex('environments_project_live_name_key').on(table.projectId, table.name).where(sql`${table.deletedAt} is null`),
    index('environments_project_idx').on(table.projectId),
    check('environments_name_format', sql`${table.name} ~ '^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$'`),
  ],
);

export type Environment = typeof environments.$inferSelect;

/**
 * Who may deploy to the environments of a project whose name matches `environment_pattern` (an
 * exact name, or a glob: `*` any run of characters, `?` one). Rules match by name, not by
 * environment id, so they hold before an environment exists (deployments create environments on
 * first use) and after one is deleted and created again. A deployer must be named by every rule
 * that matches: directly (user, service account), through a team, or through a role held in the
 * project. Principals are id arrays, not join rows: a rule is read and replaced whole, and one
 * statement keeps the version check and the change together.
 */
export const environmentProtectionRules = pgTable(
  'environment_protection_rules',
  {
    id: id(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    environmentPattern: text('environment_pattern').notNull(),
    userIds: uuid('user_ids').array().notNull().default(sql`'{}'`),
    teamIds: uuid('team_ids').array().notNull().default(sql`'{}'`),
    serviceAccountIds: uuid('service_account_ids').array().notNull().default(sql`'{}'`),
    roleNames: text('role_names').array().notNull().default(sql`'{}'`),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    version: version(),
  },
  (table) => [
    uniqueIndex('environment_protection_rules_project_pattern_key').on(table.projectId, table.environmentPattern),
    check('environment_protection_rules_pattern_format', sql`${table.environmentPattern} ~ '^[a-z0-9*?-]{1,64}$'`),
  ],
);

export type EnvironmentProtectionRule = typeof environmentProtectionRules.$inferSelect;
