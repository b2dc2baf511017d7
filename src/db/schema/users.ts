import { sql } from 'drizzle-orm';
import { boolean, index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, updatedAt, version } from './columns';

export const users = pgTable(
  'users',
  {
    id: id(),
    username: text('username').notNull(),
    email: text('email').notNull(),
    /** PHC-encoded hash; null for users who only sign in through an external provider. */
    passwordHash: text('password_hash'),
    isAdmin: boolean('is_admin').notNull().default(false),
    active: boolean('active').notNull().default(true),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    version: version(),
  },
  (table) => [
    uniqueIndex('users_username_key').on(table.username),
    // Emails compare case-insensitively; two accounts must never share one.
    uniqueIndex('users_email_lower_key').on(sql`lower(${table.email})`),
  ],
);

export type User = typeof users.$inferSelect;

/**
 * One-time links that let a user choose a password (a new user's first, or a new one an admin
 * issued). Only the SHA-256 of the token is kept: the token carries 256 random bits, so a fast
 * hash suffices. Single use (`used_at`), short-lived (`expires_at`); issuing a new link for a user
 * deletes the user's unused ones, so at most one is outstanding.
 */
export const setPasswordLinks = pgTable(
  'set_password_links',
  {
    id: id(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull(),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
  },
  (table) => [uniqueIndex('set_password_links_token_hash_key').on(table.tokenHash), index('set_password_links_user_idx').on(table.userId)],
);
