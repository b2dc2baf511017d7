// Authorization codes: 60 seconds, single use, bound to the client, redirect URI and PKCE
// challenge of the request that produced them. Stored hashed.
//
// A code presented a second time means it leaked (RFC 6749 §4.1.2): the replay is refused and the
// tokens already issued from the code are revoked, by revoking the session its redemption opened.
// The redemption links that session to the code after opening it; a replay marks the code
// `replayed_at`. Whichever of the two writes comes second sees the other (both update the same
// row, so Postgres orders them), so a replay that races the first redemption still revokes it.
import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import type { HttpDatabase } from '../../db/client';
import { authorizationCodes } from '../../db/schema';
import { randomSecret, sha256Base64url, sha256Hex } from '../secrets';
import type { AuthorizationRequest } from './authorization-request';

const codeLifetimeMs = 60_000;

export async function issueAuthorizationCode(db: HttpDatabase, userId: string, request: AuthorizationRequest): Promise<string> {
  const code = randomSecret();
  await db.insert(authorizationCodes).values({
    codeHash: await sha256Hex(code),
    clientId: request.client_id,
    userId,
    redirectUri: request.redirect_uri,
    codeChallenge: request.code_challenge,
    scope: request.scope,
    nonce: request.nonce || null,
    expiresAt: new Date(Date.now() + codeLifetimeMs),
  });
  return code;
}

interface RedeemedCode {
  codeHash: string;
  userId: string;
  scope: string;
  nonce: string | null;
  authTime: number;
}

type Redemption =
  | { ok: true; code: RedeemedCode }
  /** Unknown, expired, or not for this client, redirect URI and verifier (the code is used up). */
  | { ok: false; reason: 'invalid' }
  /** Presented before: the session it opened, if any, must be revoked. */
  | { ok: false; reason: 'replayed'; sessionId: string | null };

/** Consumes the code if it is valid for this client, redirect URI and PKCE verifier. */
export async function redeemAuthorizationCode(
  db: HttpDatabase,
  input: { code: string; clientId: string; redirectUri: string; codeVerifier: string },
): Promise<Redemption> {
  const codeHash = await sha256Hex(input.code);
  const [row] = await db
    .update(authorizationCodes)
    .set({ consumedAt: new Date() })
    .where(and(eq(authorizationCodes.codeHash, codeHash), isNull(authorizationCodes.consumedAt), gt(authorizationCodes.expiresAt, new Date())))
    .returning();
  if (!row) {
    // Consumed before (expired or not: a replay of a leaked code is one whenever it comes).
    const [replayed] = await db
      .update(authorizationCodes)
      .set({ replayedAt: sql`coalesce(${authorizationCodes.replayedAt}, now())` })
      .where(and(eq(authorizationCodes.codeHash, codeHash), sql`${authorizationCodes.consumedAt} is not null`))
      .returning({ sessionId: authorizationCodes.sessionId });
    if (!replayed) return { ok: false, reason: 'invalid' };
    return { ok: false, reason: 'replayed', sessionId: replayed.sessionId };
  }
  const challenge = await sha256Base64url(input.codeVerifier);
  if (row.clientId !== input.clientId || row.redirectUri !== input.redirectUri || row.codeChallenge !== challenge) return { ok: false, reason: 'invalid' };
  return { ok: true, code: { codeHash, userId: row.userId, scope: row.scope, nonce: row.nonce, authTime: Math.floor(row.createdAt.getTime() / 1000) } };
}

/**
 * Records the session a redemption opened. Returns false when the code was replayed in the
 * meantime: the session must then be revoked, and no tokens issued from it.
 */
export async function linkSessionToCode(db: HttpDatabase, code: RedeemedCode, sessionId: string): Promise<boolean> {
  const [row] = await db
    .update(authorizationCodes)
    .set({ sessionId })
    .where(eq(authorizationCodes.codeHash, code.codeHash))
    .returning({ replayedAt: authorizationCodes.replayedAt });
  return !!row && !row.replayedAt;
}
