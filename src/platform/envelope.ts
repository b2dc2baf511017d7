// Envelope encryption of secrets kept in the database (private signing keys, VCS provider tokens):
// AES-256-GCM under a key derived with HKDF-SHA-256 from PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_ENCRYPTION_KEY.
// Each use names its own HKDF salt (`purpose`), so a ciphertext of one kind never decrypts as
// another; associated data binds it to its row (and field), so it cannot be moved to another one.
// Stored form: `<base64 iv>.<base64 ciphertext>`.
import { base64Decode, base64Encode, utf8Encode } from './encoding';

export interface Envelope {
  seal(plaintext: Uint8Array<ArrayBuffer>, associatedData: string): Promise<string>;
  open(sealed: string, associatedData: string): Promise<Uint8Array<ArrayBuffer>>;
}

// Derived keys, per isolate: HKDF on every seal or open would waste CPU.
const derivedKeys = new Map<string, Promise<CryptoKey>>();

function derivedKey(secret: string, purpose: string): Promise<CryptoKey> {
  const cacheKey = `${purpose}\u0000${secret}`;
  let key = derivedKeys.get(cacheKey);
  if (!key) {
    key = (async () => {
      const material = await crypto.subtle.importKey('raw', utf8Encode(secret), 'HKDF', false, ['deriveKey']);
      return crypto.subtle.deriveKey(
        { name: 'HKDF', hash: 'SHA-256', salt: utf8Encode(purpose), info: new Uint8Array() },
        material,
        { name: 'AES-GCM', length: 256 },
        false,
        ['encrypt', 'decrypt'],
      );
    })();
    derivedKeys.set(cacheKey, key);
    key.catch(() => derivedKeys.delete(cacheKey));
  }
  return key;
}

/** The envelope of one kind of secret: `purpose` is its HKDF salt, e.g. `phobos-edge/signing-keys/v1`. */
export function envelope(secret: string, purpose: string): Envelope {
  return {
    async seal(plaintext, associatedData) {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const ciphertext = new Uint8Array(
        await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: utf8Encode(associatedData) }, await derivedKey(secret, purpose), plaintext),
      );
      return `${base64Encode(iv)}.${base64Encode(ciphertext)}`;
    },
    async open(sealed, associatedData) {
      const [iv, ciphertext] = sealed.split('.');
      const plaintext = await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: base64Decode(iv ?? ''), additionalData: utf8Encode(associatedData) },
        await derivedKey(secret, purpose),
        base64Decode(ciphertext ?? ''),
      );
      return new Uint8Array(plaintext);
    },
  };
}
