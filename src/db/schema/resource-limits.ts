import { sql } from 'drizzle-orm';
import { check, integer, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAt, id, updatedAt, version } from './columns';

/** System-wide caps on resource counts, as the Phobos API's `resourceLimits` exposes them. */
export const resourceLimits = pgTable(
  'resource_limits',
  {
    id: id(),
    name: text('name').notNull(),
    value: integer('value').notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    version: version(),
  },
  (table) => [uniqueIndex('resource_limits_name_key').on(table.name), check('resource_limits_value_non_negative', sql`${table.value} >= 0`)],
);

export type ResourceLimit = typeof resourceLimits.$inferSelect;
