import { sql } from 'drizzle-orm';
import { check, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, updatedAt, version } from './columns';
import { users } from './users';

export const organizations = pgTable(
  'organizations',
  {
    id: id(),
    /** URL-safe name, unique system-wide (the Phobos API addresses organizations by name). */
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    version: version(),
  },
  (table) => [
    uniqueIndex('organizations_name_key').on(table.name),
    check('organizations_name_format', sql`${table.name} ~ '^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$'`),
  ],
);

export type Organization = typeof organizations.$inferSelect;
