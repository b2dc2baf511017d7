import { index, pgTable, text, timestamp, uuid, type AnyPgColumn } from 'drizzle-orm/pg-core';
import { createdAt, id, updatedAt, version } from './columns';
import { releases } from './releases';

export const releaseCommentAuthorKinds = ['user', 'service_account'] as const;

/**
 * A comment on a release. Threads are one level deep: a reply's `parent_id` is a top-level comment
 * of the same release, and deleting a comment deletes its replies. Only its author edits or deletes it.
 */
export const releaseComments = pgTable(
  'release_comments',
  {
    id: id(),
    releaseId: uuid('release_id')
      .notNull()
      .references(() => releases.id, { onDelete: 'cascade' }),
    parentId: uuid('parent_id').references((): AnyPgColumn => releaseComments.id, { onDelete: 'cascade' }),
    authorKind: text('author_kind', { enum: releaseCommentAuthorKinds }).notNull(),
    authorId: uuid('author_id').notNull(),
    authorName: text('author_name').notNull(),
    text: text('text').notNull(),
    editedAt: timestamp('edited_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    version: version(),
  },
  (table) => [index('release_comments_release_idx').on(table.releaseId, table.parentId, table.createdAt)],
);

export type ReleaseCommentRow = typeof releaseComments.$inferSelect;
