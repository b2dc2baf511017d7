// The token the engine acts with on a provider's repositories. An OAuth access token about to
// expire is refreshed first (and the new pair stored, sealed); refresh tokens rotate, so when two
// requests refresh at once the one whose refresh token was already spent takes the other's result.
import { and, eq } from 'drizzle-orm';
import type { PhobosConfig } from '../../config/load';
import type { HttpDatabase } from '../../db/client';
import { vcsProviders, type VcsProvider } from '../../db/schema';
import { AppError, notFound } from '../../errors';
import { providerNames } from './endpoints';
import { vcsCallbackUrl } from './oauth-flow';
import { requestTokens, TokenGrantRefused } from './provider-api';
import { openSecret, sealSecret } from './secrets';

/** Refresh this long before expiry, so a token handed out does not expire on its way. */
const refreshMarginMs = 60_000;

async function loadRow(db: HttpDatabase, providerId: string): Promise<VcsProvider> {
  const [row] = await db.select().from(vcsProviders).where(eq(vcsProviders.id, providerId));
  if (!row) throw notFound('VCS provider');
  return row;
}

function isFresh(row: VcsProvider): boolean {
  return row.accessTokenExpiresAt === null || row.accessTokenExpiresAt.getTime() - refreshMarginMs > Date.now();
}

function notConnected(row: VcsProvider, why: string): AppError {
  return new AppError('CONFLICT', `VCS provider ${row.name} ${why}; reauthorize it (updateVCSProvider with reauthorize: true)`);
}

/**
 * The provider's access token, refreshed when it has expired (or is about to). For the engine, which
 * has already decided that the work it does is allowed; never for an API response.
 */
export async function vcsAccessToken(db: HttpDatabase, config: PhobosConfig, providerId: string): Promise<string> {
  const row = await loadRow(db, providerId);
  if (!row.encryptedAccessToken) throw notConnected(row, 'is not connected yet');
  if (isFresh(row)) return openSecret(config, row.id, 'access_token', row.encryptedAccessToken);
  if (!row.encryptedRefreshToken || !row.oauthClientId || !row.encryptedOauthClientSecret) throw notConnected(row, 'has an expired token and no refresh token');

  const spent = row.encryptedRefreshToken;
  let tokens: Awaited<ReturnType<typeof requestTokens>>;
  try {
    tokens = await requestTokens(
      {
        type: row.type,
        url: row.url,
        clientId: row.oauthClientId,
        clientSecret: await openSecret(config, row.id, 'oauth_client_secret', row.encryptedOauthClientSecret),
        redirectUri: vcsCallbackUrl(config),
      },
      { grant_type: 'refresh_token', refresh_token: await openSecret(config, row.id, 'refresh_token', spent) },
    );
  } catch (error) {
    if (!(error instanceof TokenGrantRefused)) throw error;
    // Someone else may have refreshed with the same refresh token first: then theirs is good.
    const now = await loadRow(db, providerId);
    if (now.encryptedRefreshToken !== spent && now.encryptedAccessToken && isFresh(now))
      return openSecret(config, now.id, 'access_token', now.encryptedAccessToken);
    throw notConnected(row, `was refused a token refresh by ${providerNames[row.type]} (${error.error})`);
  }

  // The version stays: a refresh is no edit, and must not turn a client's next update into a conflict.
  const [stored] = await db
    .update(vcsProviders)
    .set({
      encryptedAccessToken: await sealSecret(config, row.id, 'access_token', tokens.accessToken),
      // A provider that does not rotate refresh tokens leaves the old one valid.
      encryptedRefreshToken: tokens.refreshToken ? await sealSecret(config, row.id, 'refresh_token', tokens.refreshToken) : spent,
      accessTokenExpiresAt: tokens.expiresAt,
    })
    // Only over the pair that was refreshed: a reauthorization meanwhile wins.
    .where(and(eq(vcsProviders.id, row.id), eq(vcsProviders.encryptedRefreshToken, spent)))
    .returning({ id: vcsProviders.id });
  if (!stored) {
    const now = await loadRow(db, providerId);
    if (now.encryptedAccessToken && isFresh(now)) return openSecret(config, now.id, 'access_token', now.encryptedAccessToken);
  }
  return tokens.accessToken;
}
