// Connecting a VCS provider through OAuth 2.0's authorization code flow (with PKCE). Creating the
// provider (or asking to reauthorize it) stores a pending flow and hands back the provider's
// authorization URL; the provider sends the browser to /auth/vcs/callback with a code and the
// state. The state is single use, expires after ten minutes, and is bound to the provider and to
// whoever started the flow: the callback acts as that principal, who must still be allowed to
// manage the provider.
import { and, eq, gt, sql } from 'drizzle-orm';
import { loadCaller } from '../../auth/caller';
import type { AuthenticatedPrincipal, Principal } from '../../auth/principal';
import { authorize } from '../../auth/rbac';
import { randomSecret, sha256Base64url } from '../../auth/secrets';
import type { PhobosConfig } from '../../config/load';
import type { HttpDatabase } from '../../db/client';
import { serviceAccounts, users, vcsOauthStates, vcsProviders } from '../../db/schema';
import { AppError, badInput } from '../../errors';
import { recordActivity } from '../activity/record';
import { authorizeEndpoint, oauthScopes, providerNames } from './endpoints';
import { accountNameOf, requestTokens, TokenGrantRefused } from './provider-api';
import { loadProvider, placeOf, vcsProviderPrn, type VcsProviderView } from './records';
import { openSecret, sealSecret } from './secrets';

const stateLifetimeMs = 10 * 60_000;

/** The redirect URI to register with the provider's OAuth application. */
export function vcsCallbackUrl(config: PhobosConfig): string {
  return `${config.server.apiUrl}/auth/vcs/callback`;
}

interface OAuthProviderFields {
  id: string;
  type: VcsProviderView['type'];
  url: string;
  oauthClientId: string;
}

/**
 * A new authorization flow: the statement that stores it (to run in the batch that creates or
 * changes the provider; it stores nothing if the provider is not there) and the URL to send the
 * browser to.
 */
export async function beginAuthorization(config: PhobosConfig, principal: AuthenticatedPrincipal, provider: OAuthProviderFields) {
  const state = randomSecret();
  const codeVerifier = randomSecret(48);
  const stateHash = await sha256Base64url(state);
  const userId = principal.kind === 'user' ? principal.userId : null;
  const serviceAccountId = principal.kind === 'service_account' ? principal.serviceAccountId : null;
  const expiresAt = new Date(Date.now() + stateLifetimeMs).toISOString();
  const url = new URL(authorizeEndpoint(provider.type, provider.url));
  const params = {
    client_id: provider.oauthClientId,
    redirect_uri: vcsCallbackUrl(config),
    response_type: 'code',
    scope: oauthScopes[provider.type],
    state,
    code_challenge: await sha256Base64url(codeVerifier),
    code_challenge_method: 'S256',
  };
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return {
    authorizationUrl: url.toString(),
    store: (db: HttpDatabase) =>
      db.execute(sql`
        insert into vcs_oauth_states (state_hash, provider_id, user_id, service_account_id, code_verifier, expires_at)
        select ${stateHash}, ${provider.id}, ${userId}, ${serviceAccountId}, ${codeVerifier}, ${expiresAt}::timestamptz
        where exists (select 1 from vcs_providers where id = ${provider.id})`),
  };
}

/** The principal who started a flow, as it is now (a disabled user or a deleted account is nobody). */
async function initiatorOf(db: HttpDatabase, pending: { userId: string | null; serviceAccountId: string | null }): Promise<Principal> {
  if (pending.userId) {
    const [user] = await db.select().from(users).where(eq(users.id, pending.userId));
    if (user?.active) return { kind: 'user', userId: user.id, username: user.username, email: user.email, isAdmin: user.isAdmin, via: 'access_token' };
  } else if (pending.serviceAccountId) {
    const [account] = await db.select().from(serviceAccounts).where(eq(serviceAccounts.id, pending.serviceAccountId));
    if (account)
      return { kind: 'service_account', serviceAccountId: account.id, organizationId: account.organizationId, name: account.name, via: 'access_token' };
  }
  return { kind: 'anonymous' };
}

/** What the provider sent back to the callback. */
export interface CallbackParameters {
  state?: string;
  code?: string;
  error?: string;
}

/** Finishes a flow: redeems the code, stores the tokens (sealed) and the account name; returns the provider. */
export async function finishAuthorization(db: HttpDatabase, config: PhobosConfig, { state, code, error }: CallbackParameters): Promise<VcsProviderView> {
  if (!state) throw badInput('state', 'missing');
  // Single use: the row is deleted as it is read, so a replayed callback finds nothing.
  const [pending] = await db
    .delete(vcsOauthStates)
    .where(and(eq(vcsOauthStates.stateHash, await sha256Base64url(state)), gt(vcsOauthStates.expiresAt, sql`now()`)))
    .returning();
  if (!pending) throw badInput('state', 'this authorization expired or was already used; start it again with updateVCSProvider(reauthorize: true)');

  const provider = await loadProvider(db, pending.providerId);
  const principal = authorize(await loadCaller(db, await initiatorOf(db, pending)), 'vcs_provider:manage', placeOf(provider), 'VCS provider');
  const name = providerNames[provider.type];
  if (error) throw badInput('error', `${name} did not authorize the connection (${/^[\w.-]{1,64}$/.test(error) ? error : 'error'})`);
  if (!code) throw badInput('code', 'missing');
  if (provider.authType !== 'oauth' || !provider.oauthClientId || !provider.encryptedOauthClientSecret) {
    throw badInput('state', 'this provider no longer uses OAuth');
  }

  const client = {
    type: provider.type,
    url: provider.url,
    clientId: provider.oauthClientId,
    clientSecret: await openSecret(config, provider.id, 'oauth_client_secret', provider.encryptedOauthClientSecret),
    redirectUri: vcsCallbackUrl(config),
  };
  let tokens: Awaited<ReturnType<typeof requestTokens>>;
  try {
    tokens = await requestTokens(client, { grant_type: 'authorization_code', code, code_verifier: pending.codeVerifier });
  } catch (refusal) {
    if (refusal instanceof TokenGrantRefused) throw badInput('code', `${name} refused the authorization code (${refusal.error})`);
    throw refusal;
  }
  const accountName = await accountNameOf(provider.type, provider.apiUrl, tokens.accessToken, 'code');

  // Edits made meanwhile (a rename) do not void the tokens; another OAuth client would.
  const sameClient = sql`exists (select 1 from vcs_providers where id = ${provider.id} and oauth_client_id = ${client.clientId} for update)`;
  const [, [connected]] = await db.batch([
    recordActivity(
      db,
      principal,
      {
        action: 'connect',
        targetType: 'vcs_provider',
        targetId: provider.id,
        targetPrn: vcsProviderPrn(provider),
        organizationId: provider.organizationId,
        projectId: provider.projectId,
        payload: { name: provider.name, accountName },
      },
      sameClient,
    ),
    db
      .update(vcsProviders)
      .set({
        encryptedAccessToken: await sealSecret(config, provider.id, 'access_token', tokens.accessToken),
        encryptedRefreshToken: tokens.refreshToken ? await sealSecret(config, provider.id, 'refresh_token', tokens.refreshToken) : null,
        accessTokenExpiresAt: tokens.expiresAt,
        accountName,
        updatedAt: new Date(),
        version: sql`${vcsProviders.version} + 1`,
      })
      .where(and(eq(vcsProviders.id, provider.id), eq(vcsProviders.oauthClientId, client.clientId)))
      .returning({ id: vcsProviders.id }),
  ]);
  if (!connected) throw new AppError('CONFLICT', "The provider's OAuth client changed (or the provider was deleted) during the authorization; start it again");
  return loadProvider(db, provider.id);
}
