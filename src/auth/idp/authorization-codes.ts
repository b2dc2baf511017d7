// Authorization codes: 60 seconds, single use, bound to the client, redirect URI and PKCE
// challenge of the request that produced them. Stored hashed.
import { and, eq, gt, isNull } from 'drizzle-orm';
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

export interface RedeemedCode {
  userId: string;
  scope: string;
  nonce: string | null;
  authTime: number;
}

/** Consumes the code if it is valid for this client, redirect URI and PKCE verifier. */
export async function redeemAuthorizationCode(
  db: HttpDatabase,
  input: { code: string; clientId: string; redirectUri: string; codeVerifier: string },
): Promise<RedeemedCode | undefined> {
  const [row] = await db
    .update(authorizationCodes)
    .set({ consumedAt: new Date() })
    .where(
      and(
        eq(authorizationCodes.codeHash, await sha256Hex(input.code)),
        isNull(authorizationCodes.consumedAt),
        gt(authorizationCodes.expiresAt, new Date()),
      ),
    )
    .returning();
  if (!row) return undefined;
  const challenge = await sha256Base64url(input.codeVerifier);
  if (row.clientId !== input.clientId || row.redirectUri !== input.redirectUri || row.codeChallenge !== challenge) return undefined;
  return { userId: row.userId, scope: row.scope, nonce: row.nonce, authTime: Math.floor(row.createdAt.getTime() / 1000) };
}
