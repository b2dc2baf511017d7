// Columns every aggregate table shares: a uuid primary key, timestamps and an optimistic-lock version
// (the Phobos API exposes `metadata { createdAt updatedAt version }` on every resource).
import { integer, timestamp, uuid } from 'drizzle-orm/pg-core';

export const id = () => uuid('id').primaryKey().defaultRandom();
export const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
export const updatedAt = () => timestamp('updated_at', { withTimezone: true }).notNull().defaultNow();
export const version = () => integer('version').notNull().default(1);
