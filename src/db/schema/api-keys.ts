import { sql } from 'drizzle-orm';
import { check, index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id } from './columns';
import { organizations } from './organizations';
import { serviceAccounts } from './service-accounts';
import { users } from './users';

/**
 * API keys for `X-API-Key`. The key is shown once; only its SHA-256 is kept (keys carry 256 bits
 * of randomness, so a fast hash is enough and lookup stays one indexed read). `prefix` is the
 * public part (`phb_<prefix>_…`) shown in listings so people recognise their keys.
 */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: id(),
    name: text('name').notNull(),
    prefix: text('prefix').notNull(),
    secretHash: text('secret_hash').notNull(),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
    serviceAccountId: uuid('service_account_id').references(() => serviceAccounts.id, { onDelete: 'cascade' }),
    /** When set, the key acts only within this organization. */
    organizationId: uuid('organization_id').references(() => organizations.id, { onDelete: 'cascade' }),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (table) => [
    uniqueIndex('api_keys_prefix_key').on(table.prefix),
    index('api_keys_user_idx').on(table.userId),
    index('api_keys_service_account_idx').on(table.serviceAccountId),
    check('api_keys_one_owner', sql`num_nonnulls(${table.userId}, ${table.serviceAccountId}) = 1`),
  ],
);

export type ApiKey = typeof apiKeys.$inferSelect;
