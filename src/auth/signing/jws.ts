// Encoding and strict verification of the JWTs Phobos Edge issues. Signing goes through the JWS
// provider (a KMS key cannot be handed to a JWT library), so the compact serialization is
// assembled here; verification is jose's, pinned to the issuer, audience, algorithm of the key
// named by `kid`, and the token type.
import { decodeProtectedHeader, importJWK, jwtVerify, type JWTPayload } from 'jose';
import { unauthenticated } from '../../errors';
import { base64urlEncode, isCanonicalBase64url, utf8Encode } from '../../platform/encoding';
import type { KeyStore } from './key-store';
import type { JwsProvider } from './provider';
import { createVerifiedTokens } from './verified-tokens';

/**
 * A compact JWS whose three segments are canonical base64url. jose's decoder, like most, ignores
 * the unused low bits of a segment's last character, so without this check one signature could be
 * written several ways and a token altered in those bits would still verify. Every token verifier
 * (ours and the one for external issuers) refuses other spellings first.
 */
export function isCanonicalCompactJws(token: string): boolean {
  const segments = token.split('.');
  return segments.length === 3 && segments.every((segment) => segment.length > 0 && isCanonicalBase64url(segment));
}

export interface SignOptions {
  /** JOSE `typ`: `at+jwt` for access tokens (RFC 9068), `JWT` for ID tokens. */
  type: 'at+jwt' | 'JWT';
  audience: string;
  subject: string;
  expiresInSeconds: number;
  claims?: Record<string, unknown>;
}

export interface VerifyOptions {
  type: 'at+jwt' | 'JWT';
  audience: string;
}

export interface TokenSigner {
  issuer: string;
  sign(options: SignOptions): Promise<string>;
  verify(token: string, options: VerifyOptions): Promise<JWTPayload>;
  /** Whether this signer verified this exact token before: it needs no decoding to be recognised as ours. */
  verifiedBefore(token: string): boolean;
  jwks(): Promise<{ keys: JsonWebKey[] }>;
}

export function createTokenSigner(issuer: string, keys: KeyStore, provider: JwsProvider): TokenSigner {
  // Importing a JWK costs more than verifying with it; keys never change under a kid.
  const publicKeys = new Map<string, Promise<CryptoKey | Uint8Array>>();
  const publicKeyFor = (key: { kid: string; publicJwk: JsonWebKey; algorithm: string }) => {
    let imported = publicKeys.get(key.kid);
    if (!imported) {
      imported = importJWK({ ...key.publicJwk, alg: key.algorithm } as Parameters<typeof importJWK>[0], key.algorithm);
      publicKeys.set(key.kid, imported);
      imported.catch(() => publicKeys.delete(key.kid));
    }
    return imported;
  };
  const verified = createVerifiedTokens();
  return {
    issuer,
    async sign(options) {
      const key = await keys.activeKey();
      const now = Math.floor(Date.now() / 1000);
      const header = { alg: key.algorithm, kid: key.kid, typ: options.type };
      const payload = {
        ...options.claims,
        iss: issuer,
        sub: options.subject,
        aud: options.audience,
        iat: now,
        nbf: now,
        exp: now + options.expiresInSeconds,
        jti: crypto.randomUUID(),
      };
      const signingInput = `${base64urlEncode(JSON.stringify(header))}.${base64urlEncode(JSON.stringify(payload))}`;
      const signature = await provider.sign(key, utf8Encode(signingInput));
      return `${signingInput}.${base64urlEncode(signature)}`;
    },

    async verify(token, options) {
      const optionsKey = `${options.type} ${options.audience}`;
      const remembered = verified.recall(token, optionsKey, Math.floor(Date.now() / 1000));
      if (remembered && (await keys.verificationKeys()).some((candidate) => candidate.kid === remembered.kid)) return remembered.payload;

      if (!isCanonicalCompactJws(token)) throw unauthenticated('Invalid token: malformed token (a compact JWS of canonical base64url segments is required)');
      let kid: string | undefined;
      try {
        kid = decodeProtectedHeader(token).kid;
      } catch {
        throw unauthenticated('Malformed token');
      }
      if (!kid) throw unauthenticated('Token has no key id');
      let key = (await keys.verificationKeys()).find((candidate) => candidate.kid === kid);
      // A key created by another isolate moments ago is not in this isolate's cache yet.
      key ??= (await keys.verificationKeys({ refresh: true })).find((candidate) => candidate.kid === kid);
      if (!key) throw unauthenticated('Token signed by an unknown or decommissioned key');
      try {
        const { payload } = await jwtVerify(token, await publicKeyFor(key), {
          issuer,
          audience: options.audience,
          algorithms: [key.algorithm],
          typ: options.type,
          requiredClaims: ['exp', 'iat', 'sub', 'jti'],
          clockTolerance: 5,
        });
        verified.remember(token, optionsKey, { payload: Object.freeze(payload), kid, expiresAt: payload.exp! });
        return payload;
      } catch (error) {
        throw unauthenticated(`Invalid token: ${describeJoseError(error)}`);
      }
    },

    verifiedBefore: (token) => verified.knows(token),

    async jwks() {
      const published = await keys.verificationKeys();
      return { keys: published.map((key) => ({ ...key.publicJwk, kid: key.kid, alg: key.algorithm, use: 'sig' }) as JsonWebKey) };
    },
  };
}

/** jose's error codes, worded for the 401 reason a client sees. */
export function describeJoseError(error: unknown): string {
  const code = (error as { code?: string }).code;
  const claim = (error as { claim?: string }).claim;
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'token expired';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'signature verification failed';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'algorithm not allowed';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return claim === 'nbf' ? 'token not yet valid' : `unexpected "${claim}" claim`;
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return 'malformed token';
    default:
      return 'verification failed';
  }
}
