import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, updatedAt, version } from './columns';
import { organizations } from './organizations';

/**
 * A plugin an organization publishes (the registry behind templates' `plugin_requirements`):
 * `source = "<organization>/<name>"`. Its PRN is `prn:plugin:<organization>/<name>`.
 */
export const plugins = pgTable(
  'plugins',
  {
    id: id(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    createdBy: text('created_by').notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    version: version(),
  },
  (table) => [
    uniqueIndex('plugins_organization_name_key').on(table.organizationId, table.name),
    check('plugins_name_format', sql`${table.name} ~ '^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$'`),
  ],
);
export type PluginRow = typeof plugins.$inferSelect;

/** A semantic version of a plugin (no build metadata), unique per plugin and immutable. */
export const pluginVersions = pgTable(
  'plugin_versions',
  {
    id: id(),
    pluginId: uuid('plugin_id')
      .notNull()
      .references(() => plugins.id, { onDelete: 'cascade' }),
    semanticVersion: text('semantic_version').notNull(),
    createdBy: text('created_by').notNull(),
    createdAt: createdAt(),
  },
  (table) => [uniqueIndex('plugin_versions_plugin_version_key').on(table.pluginId, table.semanticVersion)],
);
export type PluginVersionRow = typeof pluginVersions.$inferSelect;

export const pluginPlatformStatuses = ['pending', 'uploaded'] as const;
export type PluginPlatformStatus = (typeof pluginPlatformStatuses)[number];

/**
 * The binary of a plugin version for one OS and architecture. Created `pending` with the size and
 * SHA-256 its publisher declares and a multipart upload open in the object store (`upload_id`);
 * `uploaded` once the upload completed and the stored object had exactly that size and SHA-256.
 */
export const pluginPlatforms = pgTable(
  'plugin_platforms',
  {
    id: id(),
    pluginVersionId: uuid('plugin_version_id')
      .notNull()
      .references(() => pluginVersions.id, { onDelete: 'cascade' }),
    os: text('os').notNull(),
    arch: text('arch').notNull(),
    /** Hex SHA-256 of the binary. */
    sha256: text('sha256').notNull(),
    sizeBytes: bigint('size_bytes', { mode: 'number' }).notNull(),
    /** The publisher's detached signature of the binary (e.g. armored GPG or minisign), kept and handed on as given. */
    signature: text('signature'),
    objectKey: text('object_key').notNull(),
    uploadId: text('upload_id'),
    partSizeBytes: integer('part_size_bytes').notNull(),
    status: text('status', { enum: pluginPlatformStatuses }).notNull().default('pending'),
    createdBy: text('created_by').notNull(),
    createdAt: createdAt(),
  },
  (table) => [
    uniqueIndex('plugin_platforms_version_os_arch_key').on(table.pluginVersionId, table.os, table.arch),
    index('plugin_platforms_status_idx').on(table.status),
    check('plugin_platforms_status_valid', sql`${table.status} in ('pending', 'uploaded')`),
  ],
);
export type PluginPlatformRow = typeof pluginPlatforms.$inferSelect;
