// The JWS provider interface (PHOBOS_JWS_PROVIDER_PLUGIN_TYPE): where signing keys live and how
// they sign. Token encoding and verification do not depend on the provider; verification always
// uses the public keys the key store publishes in JWKS.
import type { SigningKey } from '../../db/schema';
import { hexEncode } from '../../platform/encoding';

export type JwsAlgorithm = 'RS256' | 'ES256' | 'ES384';

/** A freshly created key, before the key store persists it. */
export interface NewSigningKey {
  kid: string;
  algorithm: JwsAlgorithm;
  publicJwk: JsonWebKey;
  encryptedPrivateKey?: string;
  kmsKeyId?: string;
}

export interface JwsProvider {
  readonly type: 'memory' | 'awskms';
  createKey(): Promise<NewSigningKey>;
  /** Signs the JWS signing input (`base64url(header).base64url(payload)`) with `key`. */
  sign(key: SigningKey, signingInput: Uint8Array<ArrayBuffer>): Promise<Uint8Array>;
}

export function newKeyId(): string {
  return hexEncode(crypto.getRandomValues(new Uint8Array(16)));
}
