// Envelope encryption of secrets kept in the database (private signing keys, VCS provider tokens):
// AES-256-GCM under a key derived with HKDF-SHA-256 from PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_ENCRYPTION_KEY.
// Each use names its own HKDF salt (`purpose`), so a ciphertext of one kind never decrypts as
// another; associated data binds it to its row (and field), so it cannot be moved to another one.
// Stored form: `<base64 iv>.<base64 ciphertext>`.
import { derivedKey } from './derived-keys';
import { base64Decode, base64Encode, utf8Encode } from './encoding';

export interface Envelope {
  seal(plaintext: Uint8Array<ArrayBuffer>, associatedData: string): Promise<string>;
  open(sealed: string, associatedData: string): Promise<Uint8Array<ArrayBuffer>>;
}

const aesKey = (secret: string, purpose: string) => derivedKey(secret, purpose, { name: 'AES-GCM', length: 256 }, ['encrypt', 'decrypt']);

/** The envelope of one kind of secret: `purpose` is its HKDF salt, e.g. `phobos-edge/signing-keys/v1`. */
export function envelope(secret: string, purpose: string): Envelope {
  return {
    async seal(plaintext, associatedData) {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const ciphertext = new Uint8Array(
        await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: utf8Encode(associatedData) }, await aesKey(secret, purpose), plaintext),
      );
      return `${base64Encode(iv)}.${base64Encode(ciphertext)}`;
    },
    async open(sealed, associatedData) {
      const [iv, ciphertext] = sealed.split('.');
      const plaintext = await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: base64Decode(iv ?? ''), additionalData: utf8Encode(associatedData) },
        await aesKey(secret, purpose),
        base64Decode(ciphertext ?? ''),
      );
      return new Uint8Array(plaintext);
    },
  };
}
