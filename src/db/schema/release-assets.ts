import { bigint, pgTable, text, unique, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id } from './columns';
import { releases } from './releases';

/**
 * A file of a release, in the object store under `object_key` (an unguessable key under the
 * release's prefix). The row is written only once the whole body is stored with this size and SHA-256.
 */
export const releaseAssets = pgTable(
  'release_assets',
  {
    id: id(),
    releaseId: uuid('release_id')
      .notNull()
      .references(() => releases.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    sizeBytes: bigint('size_bytes', { mode: 'number' }).notNull(),
    /** Hex SHA-256 of the body as stored. */
    sha256: text('sha256').notNull(),
    contentType: text('content_type').notNull(),
    objectKey: text('object_key').notNull(),
    uploadedBy: text('uploaded_by').notNull(),
    createdAt: createdAt(),
  },
  (table) => [unique('release_assets_name_key').on(table.releaseId, table.name)],
);

export type ReleaseAssetRow = typeof releaseAssets.$inferSelect;
