// The one verifier for tokens of external OpenID issuers, used for ID tokens of a browser sign-in
// (routes/sso.ts), bearer tokens of a configured provider (http/authenticate.ts) and subject
// tokens of a service account's token exchange (auth/service-account-login.ts). Every caller gets
// the same checks, so they cannot drift apart:
//   - a compact JWS of canonical base64url segments;
//   - signed by a key of the issuer's published JWKS (found through discovery, whose document must
//     name the same issuer), with an asymmetric algorithm;
//   - `iss` equal to the issuer the discovery document names;
//   - `aud` containing an expected audience (always required: a token for another audience is
//     someone else's token);
//   - `sub`, `exp` and `iat` present, `exp`/`nbf` within 30 s of clock skew;
//   - `nonce` equal to the expected one when the caller started the sign-in with a nonce.
import { jwtVerify, type JWTPayload } from 'jose';
import { describeJoseError, isCanonicalCompactJws } from '../signing/jws';
import { discover, externalAlgorithms, issuerKeys } from './discovery';

/** The token is not acceptable; `message` says why, in words safe to show the client. */
export class ExternalTokenRejected extends Error {
  override readonly name = 'ExternalTokenRejected';
}

interface ExternalTokenExpectations {
  /** The issuer as configured; a trailing slash does not matter (see ./issuer). */
  issuer: string;
  /** The token's `aud` must contain one of these. */
  audience: string | string[];
  /** Set when the caller sent a nonce in the authorization request (OIDC Core §3.1.3.7). */
  nonce?: string;
}

export type VerifiedExternalToken = JWTPayload & { sub: string };

/**
 * Verifies `token` against its issuer. Throws ExternalTokenRejected for a token that is not
 * acceptable; an issuer that cannot be reached fails with discovery's SERVICE_UNAVAILABLE.
 */
export async function verifyExternalToken(token: string, expected: ExternalTokenExpectations): Promise<VerifiedExternalToken> {
  if (!isCanonicalCompactJws(token)) throw new ExternalTokenRejected('malformed token');
  const document = await discover(expected.issuer);
  const keys = await issuerKeys(expected.issuer);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, keys, {
      issuer: document.issuer,
      audience: expected.audience,
      algorithms: externalAlgorithms,
      requiredClaims: ['sub', 'exp', 'iat'],
      clockTolerance: 30,
    }));
  } catch (error) {
    throw new ExternalTokenRejected(describeJoseError(error), { cause: error });
  }
  if (expected.nonce !== undefined && payload.nonce !== expected.nonce) throw new ExternalTokenRejected('nonce mismatch');
  return payload as VerifiedExternalToken;
}

/** Whether the token's `aud` (a string or an array) contains `audience`. */
export function audienceIncludes(payload: JWTPayload, audience: string): boolean {
  return Array.isArray(payload.aud) ? payload.aud.includes(audience) : payload.aud === audience;
}
