import { sql } from 'drizzle-orm';
import { check, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAt } from './columns';

/**
 * Asymmetric keys that sign Phobos Edge's tokens. `active` signs; `rotated` no longer signs but
 * still verifies until `decommission_at`; `decommissioned` verifies nothing. The memory provider
 * keeps the private key here, encrypted (AES-GCM) under PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_ENCRYPTION_KEY;
 * the awskms provider keeps only the KMS key id.
 */
export const signingKeys = pgTable(
  'signing_keys',
  {
    kid: text('kid').primaryKey(),
    provider: text('provider', { enum: ['memory', 'awskms'] }).notNull(),
    algorithm: text('algorithm').notNull(),
    publicJwk: jsonb('public_jwk').$type<JsonWebKey>().notNull(),
    encryptedPrivateKey: text('encrypted_private_key'),
    kmsKeyId: text('kms_key_id'),
    status: text('status', { enum: ['active', 'rotated', 'decommissioned'] }).notNull(),
    createdAt: createdAt(),
    rotatedAt: timestamp('rotated_at', { withTimezone: true }),
    decommissionAt: timestamp('decommission_at', { withTimezone: true }),
  },
  (table) => [
    check('signing_keys_status_valid', sql`${table.status} in ('active', 'rotated', 'decommissioned')`),
    // At most one key signs at a time.
    uniqueIndex('signing_keys_one_active').on(table.status).where(sql`${table.status} = 'active'`),
  ],
);

export type SigningKey = typeof signingKeys.$inferSelect;
