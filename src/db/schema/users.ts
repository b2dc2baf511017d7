import { sql } from 'drizzle-orm';
import { boolean, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
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
