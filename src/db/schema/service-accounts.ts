import { sql } from 'drizzle-orm';
import { check, index, jsonb, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, updatedAt, version } from './columns';
import { organizations } from './organizations';
import { users } from './users';

/** Automation identity of one organization; signs in by presenting a trusted OIDC token. */
export const serviceAccounts = pgTable(
  'service_accounts',
  {
    id: id(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    version: version(),
  },
  (table) => [
    uniqueIndex('service_accounts_organization_name_key').on(table.organizationId, table.name),
    check('service_accounts_name_format', sql`${table.name} ~ '^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$'`),
  ],
);

/**
 * Which external tokens a service account accepts: the token's issuer must equal `issuer`, its
 * `aud` must contain `audience` (null: the Phobos token issuer URL, PHOBOS_TOKEN_ISSUER_URL, as
 * it is when the token is presented), and every bound claim must be present with exactly the given
 * value (e.g. {"project_path":"acme/app","ref":"main"}).
 */
export const trustPolicies = pgTable(
  'service_account_trust_policies',
  {
    id: id(),
    serviceAccountId: uuid('service_account_id')
      .notNull()
      .references(() => serviceAccounts.id, { onDelete: 'cascade' }),
    issuer: text('issuer').notNull(),
    audience: text('audience'),
    boundClaims: jsonb('bound_claims').$type<Record<string, string>>().notNull(),
    createdAt: createdAt(),
  },
  (table) => [index('trust_policies_service_account_idx').on(table.serviceAccountId)],
);

export type ServiceAccount = typeof serviceAccounts.$inferSelect;
export type TrustPolicy = typeof trustPolicies.$inferSelect;
