// Service accounts sign in without a password (RFC 8693 token exchange at /oauth/token): they
// present an OIDC token from a trusted issuer (a CI system, a cloud workload identity). The token
// must verify against its issuer's published keys (auth/sso/verify-external-token.ts) and satisfy
// one of the service account's trust policies: same issuer, `aud` containing the policy's audience
// (by default the Phobos token issuer URL, so a token minted for another service is refused), and
// every bound claim equal. Then Phobos Edge issues its own short-lived token, signed by the JWS
// provider. Transport-free: the route hands over the form fields and translates the outcome.
import { and, eq } from 'drizzle-orm';
import { decodeJwt, type JWTPayload } from 'jose';
import type { PhobosConfig } from '../config/load';
import type { Database } from '../db/client';
import { organizations, serviceAccounts, trustPolicies, type TrustPolicy } from '../db/schema';
import type { Logger } from '../platform/logger';
import { issueServiceAccountToken } from './access-tokens';
import { signingFor } from './signing';
import { sameIssuer } from './sso/issuer';
import { audienceIncludes, ExternalTokenRejected, verifyExternalToken, type VerifiedExternalToken } from './sso/verify-external-token';

const acceptedTokenTypes = ['urn:ietf:params:oauth:token-type:jwt', 'urn:ietf:params:oauth:token-type:id_token'];

interface TokenExchangeDependencies {
  config: PhobosConfig;
  database: Database;
  logger: Logger;
}

type TokenExchangeResult =
  | { ok: true; response: { access_token: string; issued_token_type: string; token_type: 'Bearer'; expires_in: number } }
  | { ok: false; error: 'invalid_request' | 'invalid_grant'; description: string; status: 400 | 401 };

/** The audience a trust policy accepts: its own, or the Phobos token issuer URL when it names none. */
export function trustPolicyAudience(policy: Pick<TrustPolicy, 'audience'>, config: PhobosConfig): string {
  return policy.audience ?? config.tokenIssuerUrl;
}

/**
 * Every bound claim is an own claim of the token with exactly the bound value (an array claim
 * must contain it). Own properties only: a claim named `constructor` or `toString` is absent from
 * a token that does not carry it, not the inherited function.
 */
function claimsSatisfy(payload: JWTPayload, boundClaims: Record<string, string>): boolean {
  return Object.entries(boundClaims).every(([claim, expected]) => {
    if (!Object.hasOwn(payload, claim)) return false;
    const actual = payload[claim];
    if (Array.isArray(actual)) return actual.map(String).includes(expected);
    return actual !== undefined && actual !== null && typeof actual !== 'object' && String(actual) === expected;
  });
}

function policyAccepts(payload: JWTPayload, policy: TrustPolicy, config: PhobosConfig): boolean {
  return audienceIncludes(payload, trustPolicyAudience(policy, config)) && claimsSatisfy(payload, policy.boundClaims);
}

export async function exchangeServiceAccountToken(
  { config, database, logger }: TokenExchangeDependencies,
  fields: Record<string, string | undefined>,
): Promise<TokenExchangeResult> {
  const denied: TokenExchangeResult = { ok: false, error: 'invalid_grant', description: 'The token is not trusted by this service account', status: 401 };
  const invalid = (description: string): TokenExchangeResult => ({ ok: false, error: 'invalid_request', description, status: 400 });
  if (!fields.subject_token) return invalid('subject_token is required');
  if (!acceptedTokenTypes.includes(fields.subject_token_type ?? '')) return invalid(`subject_token_type must be one of ${acceptedTokenTypes.join(', ')}`);
  const [organizationName, accountName, ...rest] = (fields.service_account ?? '').split('/');
  if (!organizationName || !accountName || rest.length) return invalid('service_account must be "<organization>/<service account>"');
  let unverified: JWTPayload;
  try {
    unverified = decodeJwt(fields.subject_token);
  } catch {
    return invalid('subject_token is not a JWT');
  }

  const rows = await database.http
    .select({ account: serviceAccounts, policy: trustPolicies })
    .from(serviceAccounts)
    .innerJoin(organizations, eq(organizations.id, serviceAccounts.organizationId))
    .leftJoin(trustPolicies, eq(trustPolicies.serviceAccountId, serviceAccounts.id))
    .where(and(eq(organizations.name, organizationName), eq(serviceAccounts.name, accountName)));
  const account = rows[0]?.account;
  const issuer = typeof unverified.iss === 'string' ? unverified.iss : '';
  const policies = rows.map((row) => row.policy).filter((policy): policy is TrustPolicy => !!policy && sameIssuer(policy.issuer, issuer));
  if (!account || policies.length === 0) return denied;

  let payload: VerifiedExternalToken;
  try {
    const audiences = [...new Set(policies.map((policy) => trustPolicyAudience(policy, config)))];
    payload = await verifyExternalToken(fields.subject_token, { issuer: policies[0]!.issuer, audience: audiences });
  } catch (error) {
    if (!(error instanceof ExternalTokenRejected)) throw error;
    logger.info('service account sign-in refused', { serviceAccountId: account.id, reason: error.message });
    return denied;
  }
  if (!policies.some((policy) => policyAccepts(payload, policy, config))) {
    logger.info('service account sign-in refused', { serviceAccountId: account.id, reason: 'no trust policy accepts the audience and bound claims' });
    return denied;
  }

  const { signer } = signingFor(config, database);
  const issued = await issueServiceAccountToken(signer, config, account);
  logger.info('service account sign-in', { serviceAccountId: account.id });
  return {
    ok: true,
    response: {
      access_token: issued.accessToken,
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      token_type: 'Bearer',
      expires_in: issued.expiresIn,
    },
  };
}
