import { sql } from 'drizzle-orm';
import { check, index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, updatedAt, version } from './columns';
import { organizations } from './organizations';
import { projects } from './projects';
import { serviceAccounts } from './service-accounts';
import { users } from './users';

export const vcsProviderTypes = ['github', 'gitlab'] as const;
export type VcsProviderType = (typeof vcsProviderTypes)[number];
export const vcsAuthTypes = ['personal_access_token', 'oauth'] as const;
export type VcsAuthType = (typeof vcsAuthTypes)[number];

/**
 * A GitHub or GitLab connection of an organization (project_id null; its projects inherit it) or of
 * one project. Every secret column holds an envelope (platform/envelope.ts) bound to the row and
 * the column; no API ever returns them.
 */
export const vcsProviders = pgTable(
  'vcs_providers',
  {
    id: id(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    projectId: uuid('project_id').references(() => projects.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    type: text('type', { enum: vcsProviderTypes }).notNull(),
    /** The provider's web address (OAuth's authorize and token endpoints live under it). */
    url: text('url').notNull(),
    /** The REST API's base, e.g. https://api.github.com or https://gitlab.example.com/api/v4. */
    apiUrl: text('api_url').notNull(),
    authType: text('auth_type', { enum: vcsAuthTypes }).notNull(),
    oauthClientId: text('oauth_client_id'),
    encryptedOauthClientSecret: text('encrypted_oauth_client_secret'),
    /** The personal access token, or the OAuth access token once the authorization flow finished. */
    encryptedAccessToken: text('encrypted_access_token'),
    encryptedRefreshToken: text('encrypted_refresh_token'),
    /** When the OAuth access token expires; null when it does not (a personal access token). */
    accessTokenExpiresAt: timestamp('access_token_expires_at', { withTimezone: true }),
    /** The provider account the token acts as (GitHub `login`, GitLab `username`). */
    accountName: text('account_name'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    version: version(),
  },
  (table) => [
    uniqueIndex('vcs_providers_organization_name_key').on(table.organizationId, table.name).where(sql`${table.projectId} is null`),
    uniqueIndex('vcs_providers_project_name_key').on(table.projectId, table.name).where(sql`${table.projectId} is not null`),
    index('vcs_providers_organization_idx').on(table.organizationId),
    check('vcs_providers_name_format', sql`${table.name} ~ '^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$'`),
    check('vcs_providers_type_valid', sql`${table.type} in ('github', 'gitlab')`),
    check('vcs_providers_auth_type_valid', sql`${table.authType} in ('personal_access_token', 'oauth')`),
    check(
      'vcs_providers_oauth_client',
      sql`(${table.authType} = 'oauth') = (${table.oauthClientId} is not null and ${table.encryptedOauthClientSecret} is not null)`,
    ),
  ],
);

export type VcsProvider = typeof vcsProviders.$inferSelect;

/**
 * OAuth authorization flows under way: the state sent to the provider (stored as its SHA-256), the
 * provider and the principal who started it, and the PKCE verifier. Used once, within minutes.
 */
export const vcsOauthStates = pgTable(
  'vcs_oauth_states',
  {
    stateHash: text('state_hash').primaryKey(),
    providerId: uuid('provider_id')
      .notNull()
      .references(() => vcsProviders.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
    serviceAccountId: uuid('service_account_id').references(() => serviceAccounts.id, { onDelete: 'cascade' }),
    codeVerifier: text('code_verifier').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    createdAt: createdAt(),
  },
  (table) => [
    index('vcs_oauth_states_provider_idx').on(table.providerId),
    check('vcs_oauth_states_one_initiator', sql`(${table.userId} is null) <> (${table.serviceAccountId} is null)`),
  ],
);
