// Keys derived with HKDF-SHA-256 from one configured secret (PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_ENCRYPTION_KEY),
// one per purpose: the purpose is the HKDF salt, so a key for sealing secrets is never the key that
// signs download URLs. Cached per isolate: HKDF and key import on every use would waste CPU.
import { utf8Encode } from './encoding';

const derivedKeys = new Map<string, Promise<CryptoKey>>();

/** The key of `purpose` (e.g. `phobos-edge/signing-keys/v1`) for `algorithm`, derived from `secret`. */
export function derivedKey(secret: string, purpose: string, algorithm: AesKeyGenParams | HmacKeyGenParams, usages: KeyUsage[]): Promise<CryptoKey> {
  const cacheKey = `${purpose}\u0000${algorithm.name}\u0000${secret}`;
  let key = derivedKeys.get(cacheKey);
  if (!key) {
    key = (async () => {
      const material = await crypto.subtle.importKey('raw', utf8Encode(secret), 'HKDF', false, ['deriveKey']);
      return crypto.subtle.deriveKey({ name: 'HKDF', hash: 'SHA-256', salt: utf8Encode(purpose), info: new Uint8Array() }, material, algorithm, false, usages);
    })();
    derivedKeys.set(cacheKey, key);
    key.catch(() => derivedKeys.delete(cacheKey));
  }
  return key;
}
