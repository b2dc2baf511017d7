// OpenID discovery documents and JWKS of external issuers, cached per isolate: discovery for an
// hour, keys by jose's remote key set (which refetches on an unknown kid, with a cooldown).
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import { AppError } from '../../errors';
import { normaliseIssuer, sameIssuer } from './issuer';

export interface DiscoveryDocument {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  userinfo_endpoint?: string;
}

const discoveryTtlMs = 3_600_000;
const documents = new Map<string, { document: DiscoveryDocument; at: number }>();
const keySets = new Map<string, JWTVerifyGetKey>();

/**
 * Issuers are fetched server-side, so only https is allowed — except loopback, for local
 * development and tests — to keep this from becoming a way to reach internal plain-http services.
 */
export function assertFetchableIssuer(issuer: string): URL {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new AppError('BAD_USER_INPUT', `issuer: ${issuer} is not a URL`, { field: 'issuer' });
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new AppError('BAD_USER_INPUT', 'issuer: must be an https URL', { field: 'issuer' });
  }
  return url;
}

export async function discover(issuer: string): Promise<DiscoveryDocument> {
  const cached = documents.get(issuer);
  if (cached && Date.now() - cached.at < discoveryTtlMs) return cached.document;
  assertFetchableIssuer(issuer);
  const response = await fetch(`${normaliseIssuer(issuer)}/.well-known/openid-configuration`, {
    headers: { accept: 'application/json' },
    signal: AbortSignal.timeout(5000),
  }).catch((error: unknown) => {
    throw new AppError('SERVICE_UNAVAILABLE', `Identity provider ${issuer} is unreachable`, { cause: error });
  });
  if (!response.ok) throw new AppError('SERVICE_UNAVAILABLE', `Identity provider ${issuer} discovery failed (${response.status})`);
  const document = (await response.json().catch(() => null)) as DiscoveryDocument | null;
  // OpenID Connect Discovery §4.3: the document must name the issuer it was fetched for.
  if (typeof document?.issuer !== 'string' || !sameIssuer(document.issuer, issuer))
    throw new AppError('SERVICE_UNAVAILABLE', `Identity provider ${issuer} announces a different issuer`);
  documents.set(issuer, { document, at: Date.now() });
  return document;
}

export async function issuerKeys(issuer: string): Promise<JWTVerifyGetKey> {
  let keys = keySets.get(issuer);
  if (!keys) {
    const { jwks_uri } = await discover(issuer);
    keys = createRemoteJWKSet(new URL(jwks_uri), { timeoutDuration: 5000, cacheMaxAge: 600_000 });
    keySets.set(issuer, keys);
  }
  return keys;
}

/** Asymmetric algorithms accepted from external issuers (never `none` or HMAC). */
export const externalAlgorithms = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'];
