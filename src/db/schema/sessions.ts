import { index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id } from './columns';
import { users } from './users';

/** A signed-in user's session: one chain of rotating refresh tokens. */
export const userSessions = pgTable(
  'user_sessions',
  {
    id: id(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    clientId: text('client_id').notNull(),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    revokedReason: text('revoked_reason'),
  },
  (table) => [index('user_sessions_user_idx').on(table.userId, table.createdAt)],
);

/**
 * Refresh tokens, stored as SHA-256 hashes. Each use rotates: the used token gets `used_at` and a
 * new one is issued. Presenting a used token again is reuse — a sign of theft — and revokes the
 * whole session, except within a short grace after its first use (a client retry, two tabs), when
 * it answers with the same successor. The successor is derived from the presented token and
 * `successor_seed` (random, never leaves the database), so it can be given again without keeping
 * any token in a readable form (see auth/sessions.ts).
 */
export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    id: id(),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => userSessions.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull(),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
    successorSeed: text('successor_seed'),
  },
  (table) => [uniqueIndex('refresh_tokens_hash_key').on(table.tokenHash), index('refresh_tokens_session_idx').on(table.sessionId)],
);

/**
 * Short-lived authorization codes of the built-in OpenID Provider (hashed, single use). A code
 * remembers the session its redemption opened, so a replay can revoke it (RFC 6749 §4.1.2);
 * `replayed_at` marks a replay that came before the session was linked.
 */
export const authorizationCodes = pgTable('authorization_codes', {
  codeHash: text('code_hash').primaryKey(),
  clientId: text('client_id').notNull(),
  userId: uuid('user_id')
    .notNull()
    .references(() => users.id, { onDelete: 'cascade' }),
  redirectUri: text('redirect_uri').notNull(),
  codeChallenge: text('code_challenge').notNull(),
  scope: text('scope').notNull(),
  nonce: text('nonce'),
  createdAt: createdAt(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  consumedAt: timestamp('consumed_at', { withTimezone: true }),
  sessionId: uuid('session_id').references(() => userSessions.id, { onDelete: 'set null' }),
  replayedAt: timestamp('replayed_at', { withTimezone: true }),
});

export type UserSession = typeof userSessions.$inferSelect;
export type RefreshToken = typeof refreshTokens.$inferSelect;
