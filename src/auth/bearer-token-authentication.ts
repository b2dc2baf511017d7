// Authentication by bearer token: a Phobos access token (user or service account), or a token of a
// configured external OIDC provider (PHOBOS_OAUTH_PROVIDERS_<n>), which the Phobos API accepts too.
// An external token signs its user in as the browser flow would (the first one creates the user,
// within USER_EMAIL_DOMAIN_WHITELIST), so automation holding a provider's token needs no sign-in.
// A provider's token carrying a tenant claim acts in that organization only (./sso/tenant-claim.ts).
// Every refusal is UNAUTHENTICATED with the reason; the middleware (http/authenticate.ts) only
// translates it into a 401 with its WWW-Authenticate header.
import { decodeJwt } from 'jose';
import type { PhobosConfig } from '../config/load';
import type { Database } from '../db/client';
import { unauthenticated } from '../errors';
import { principalFromAccessToken } from './access-tokens';
import type { AuthenticatedPrincipal } from './principal';
import { signingFor } from './signing';
import { profileFromClaims, signInExternalUser } from './sso/external-users';
import { sameIssuer } from './sso/issuer';
import { organizationScopeOf } from './sso/tenant-claim';
import { ExternalTokenRejected, verifyExternalToken, type VerifiedExternalToken } from './sso/verify-external-token';

/** The principal a bearer token stands for, or UNAUTHENTICATED with the reason. */
export async function principalFromBearerToken(config: PhobosConfig, database: Database, token: string): Promise<AuthenticatedPrincipal> {
  const { signer } = signingFor(config, database);
  let issuer: unknown = signer.verifiedBefore(token) ? config.tokenIssuerUrl : undefined;
  try {
    issuer ??= decodeJwt(token).iss;
  } catch {
    throw unauthenticated('Malformed token');
  }
  if (issuer === config.tokenIssuerUrl) {
    try {
      const payload = await signer.verify(token, { type: 'at+jwt', audience: config.internalIdentityProviderClientId });
      return principalFromAccessToken(payload);
    } catch (error) {
      throw unauthenticated((error as Error).message);
    }
  }
  const provider = config.oauthProviders.find((candidate) => typeof issuer === 'string' && sameIssuer(candidate.issuerUrl, issuer));
  if (!provider) throw unauthenticated('Token issuer is not trusted');
  let payload: VerifiedExternalToken;
  try {
    payload = await verifyExternalToken(token, { issuer: provider.issuerUrl, audience: provider.clientId });
  } catch (error) {
    if (error instanceof ExternalTokenRejected) throw unauthenticated(`Invalid token: ${error.message}`);
    throw error;
  }
  // Before the sign-in, so a token for a tenant that does not exist creates no user.
  const organizationScope = await organizationScopeOf(database.http, payload, provider.tenantClaim);
  const user = await signInExternalUser(database.http, config, {
    provider: `oidc-${provider.index}`,
    issuer: provider.issuerUrl,
    profile: profileFromClaims(payload, payload.sub, [provider.usernameClaim]),
  });
  return {
    kind: 'user',
    userId: user.id,
    username: user.username,
    email: user.email,
    isAdmin: user.isAdmin,
    via: 'external_token',
    ...(organizationScope ? { organizationScope } : {}),
  };
}
