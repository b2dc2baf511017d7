import { index, pgTable, text, uniqueIndex, uuid, timestamp, jsonb } from 'drizzle-orm/pg-core';
import { createdAt } from './columns';
import { users } from './users';

/**
 * A user's identity at an external provider. Sign-in links by (issuer, subject) only: an email
 * claimed by a provider never links to an existing account by itself.
 */
export const externalIdentities = pgTable(
  'external_identities',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    provider: text('provider').notNull(),
    issuer: text('issuer').notNull(),
    subject: text('subject').notNull(),
    email: text('email'),
    createdAt: createdAt(),
    lastSignInAt: timestamp('last_sign_in_at', { withTimezone: true }),
  },
  (table) => [uniqueIndex('external_identities_issuer_subject_key').on(table.issuer, table.subject), index('external_identities_user_idx').on(table.userId)],
);

/**
 * An external sign-in in flight: what to check when the provider redirects back (state, nonce,
 * PKCE verifier) and the built-in authorization request it completes.
 */
export const pendingSignIns = pgTable('pending_sign_ins', {
  state: text('state').primaryKey(),
  provider: text('provider').notNull(),
  nonce: text('nonce').notNull(),
  codeVerifier: text('code_verifier').notNull(),
  authorizationRequest: jsonb('authorization_request').$type<Record<string, string>>().notNull(),
  createdAt: createdAt(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
});

export type ExternalIdentity = typeof externalIdentities.$inferSelect;
