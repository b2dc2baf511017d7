import { sql } from 'drizzle-orm';
import { boolean, check, index, integer, jsonb, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import type { ReleaseLifecycleTemplate } from '../../domain/lifecycles/model';
import { createdAt, id, updatedAt, version } from './columns';
import { organizations } from './organizations';
import { projects } from './projects';

/**
 * A release lifecycle version: at organization level (`project_id` null, usable by every project of
 * the organization) or of one project. Immutable once created (only `latest` moves), like pipeline
 * templates: the HCL body lives in the object store under `object_key`, its SHA-256 and size here,
 * and the compiled lifecycle (the model a release's RELEASE_LIFECYCLE pipeline is built from) in
 * `compiled`. A versioned lifecycle has a semantic version, unique per (scope, name); an unversioned
 * one has none.
 */
export const releaseLifecycles = pgTable(
  'release_lifecycles',
  {
    id: id(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    projectId: uuid('project_id').references(() => projects.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    versioned: boolean('versioned').notNull(),
    semanticVersion: text('semantic_version'),
    /** The newest semantic version of its (scope, name); maintained on create and delete. */
    latest: boolean('latest').notNull().default(false),
    /** Hex SHA-256 of the HCL body as stored. */
    sha256: text('sha256').notNull(),
    sizeBytes: integer('size_bytes').notNull(),
    objectKey: text('object_key').notNull(),
    compiled: jsonb('compiled').$type<ReleaseLifecycleTemplate>().notNull(),
    createdBy: text('created_by').notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    version: version(),
  },
  (table) => [
    // One namespace per scope: the organization's own lifecycles, and each project's.
    uniqueIndex('release_lifecycles_organization_version_key')
      .on(table.organizationId, table.name, table.semanticVersion)
      .where(sql`project_id is null and semantic_version is not null`),
    uniqueIndex('release_lifecycles_project_version_key')
      .on(table.projectId, table.name, table.semanticVersion)
      .where(sql`project_id is not null and semantic_version is not null`),
    index('release_lifecycles_organization_idx').on(table.organizationId, table.createdAt),
    index('release_lifecycles_project_idx').on(table.projectId, table.createdAt),
    check('release_lifecycles_name_format', sql`${table.name} ~ '^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$'`),
    check('release_lifecycles_version_when_versioned', sql`${table.versioned} = (${table.semanticVersion} is not null)`),
  ],
);

export type ReleaseLifecycleRow = typeof releaseLifecycles.$inferSelect;
