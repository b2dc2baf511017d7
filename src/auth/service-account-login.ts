// Service accounts sign in without a password (RFC 8693 token exchange at /oauth/token): they
// present an OIDC token from a trusted issuer (a CI system, a cloud workload identity). The token
// must verify against its issuer's published keys and satisfy one of the service account's trust
// policies (same issuer, every bound claim equal); then Phobos Edge issues its own short-lived
// token, signed by the JWS provider.
import { and, eq } from 'drizzle-orm';
import type { Context } from 'hono';
import { decodeJwt, jwtVerify, type JWTPayload } from 'jose';
import { organizations, serviceAccounts, trustPolicies, type TrustPolicy } from '../db/schema';
import type { AppEnv } from '../http/app-env';
import { issueServiceAccountToken } from './access-tokens';
import { signingFor } from './signing';
import { discover, externalAlgorithms, issuerKeys } from './sso/discovery';

const acceptedTokenTypes = ['urn:ietf:params:oauth:token-type:jwt', 'urn:ietf:params:oauth:token-type:id_token'];

type ExchangeResult =
  | { access_token: string; issued_token_type: string; token_type: 'Bearer'; expires_in: number }
  | { error: string; description: string; status: 400 | 401 };

const normalise = (issuer: string) => issuer.replace(/\/$/, '');

export function claimsSatisfy(payload: JWTPayload, boundClaims: Record<string, string>): boolean {
  return Object.entries(boundClaims).every(([claim, expected]) => {
    const actual = payload[claim];
    if (Array.isArray(actual)) return actual.map(String).includes(expected);
    return actual !== undefined && actual !== null && String(actual) === expected;
  });
}

export async function exchangeServiceAccountToken(c: Context<AppEnv>, form: Record<string, string>): Promise<ExchangeResult> {
  const denied: ExchangeResult = { error: 'invalid_grant', description: 'The token is not trusted by this service account', status: 401 };
  if (!form.subject_token || !acceptedTokenTypes.includes(form.subject_token_type ?? '')) {
    return { error: 'invalid_request', description: 'subject_token and a JWT subject_token_type are required', status: 400 };
  }
  const [organizationName, accountName, ...rest] = (form.service_account ?? '').split('/');
  if (!organizationName || !accountName || rest.length) {
    return { error: 'invalid_request', description: 'service_account must be "<organization>/<service account>"', status: 400 };
  }
  let unverified: JWTPayload;
  try {
    unverified = decodeJwt(form.subject_token);
  } catch {
    return { error: 'invalid_request', description: 'subject_token is not a JWT', status: 400 };
  }

  const config = c.get('config');
  const database = c.get('database')();
  const rows = await database.http
    .select({ account: serviceAccounts, policy: trustPolicies })
    .from(serviceAccounts)
    .innerJoin(organizations, eq(organizations.id, serviceAccounts.organizationId))
    .leftJoin(trustPolicies, eq(trustPolicies.serviceAccountId, serviceAccounts.id))
    .where(and(eq(organizations.name, organizationName), eq(serviceAccounts.name, accountName)));
  const account = rows[0]?.account;
  const issuer = typeof unverified.iss === 'string' ? unverified.iss : '';
  const policies = rows.map((row) => row.policy).filter((policy): policy is TrustPolicy => !!policy && normalise(policy.issuer) === normalise(issuer));
  if (!account || policies.length === 0) return denied;

  let payload: JWTPayload;
  try {
    const document = await discover(policies[0]!.issuer);
    ({ payload } = await jwtVerify(form.subject_token, await issuerKeys(policies[0]!.issuer), {
      issuer: document.issuer,
      algorithms: externalAlgorithms,
      requiredClaims: ['exp', 'iat'],
      clockTolerance: 30,
    }));
  } catch (error) {
    c.get('logger').info('service account sign-in refused', { serviceAccountId: account.id, reason: (error as Error).message });
    return denied;
  }
  if (!policies.some((policy) => claimsSatisfy(payload, policy.boundClaims))) {
    c.get('logger').info('service account sign-in refused', { serviceAccountId: account.id, reason: 'bound claims do not match' });
    return denied;
  }

  const { signer } = signingFor(config, database);
  const issued = await issueServiceAccountToken(signer, config, account);
  c.get('logger').info('service account sign-in', { serviceAccountId: account.id });
  return { access_token: issued.accessToken, issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer', expires_in: issued.expiresIn };
}
