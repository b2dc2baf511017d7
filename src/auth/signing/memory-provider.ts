// The `memory` JWS provider: RSA keys generated in the Worker with WebCrypto. "Memory" in Phobos
// means in-process; a Worker has no durable process memory, so the private key is kept in the
// database, encrypted with AES-256-GCM under a key derived (HKDF-SHA-256) from
// PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_ENCRYPTION_KEY, with the kid as associated data so a
// ciphertext cannot be moved to another key's row.
import { AppError } from '../../errors';
import { base64Decode, base64Encode, utf8Encode } from '../../platform/encoding';
import type { SigningKey } from '../../db/schema';
import { newKeyId, type JwsProvider, type NewSigningKey } from './provider';

const rsa = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

async function wrappingKey(secret: string): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey('raw', utf8Encode(secret), 'HKDF', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: utf8Encode('phobos-edge/signing-keys/v1'), info: new Uint8Array() },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

export function createMemoryProvider(keyEncryptionKey: string | undefined): JwsProvider {
  const requireSecret = (): string => {
    if (!keyEncryptionKey) {
      throw new AppError('SERVICE_UNAVAILABLE', 'PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_ENCRYPTION_KEY must be set for the memory JWS provider');
    }
    return keyEncryptionKey;
  };
  // Decrypted private keys, per isolate: decrypting on every signature would waste CPU.
  const privateKeys = new Map<string, Promise<CryptoKey>>();

  return {
    type: 'memory',
    async createKey(): Promise<NewSigningKey> {
      const secret = requireSecret();
      const kid = newKeyId();
      const pair = (await crypto.subtle.generateKey({ ...rsa, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) }, true, [
        'sign',
        'verify',
      ])) as CryptoKeyPair;
      const pkcs8 = new Uint8Array((await crypto.subtle.exportKey('pkcs8', pair.privateKey)) as ArrayBuffer);
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const ciphertext = new Uint8Array(
        await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: utf8Encode(kid) }, await wrappingKey(secret), pkcs8),
      );
      const { kty, n, e } = (await crypto.subtle.exportKey('jwk', pair.publicKey)) as JsonWebKey;
      return {
        kid,
        algorithm: 'RS256',
        publicJwk: { kty, n, e },
        encryptedPrivateKey: `${base64Encode(iv)}.${base64Encode(ciphertext)}`,
      };
    },
    async sign(key: SigningKey, signingInput: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
      let privateKey = privateKeys.get(key.kid);
      if (!privateKey) {
        privateKey = (async () => {
          const [iv, ciphertext] = (key.encryptedPrivateKey ?? '').split('.');
          const pkcs8 = await crypto.subtle.decrypt(
            { name: 'AES-GCM', iv: base64Decode(iv ?? ''), additionalData: utf8Encode(key.kid) },
            await wrappingKey(requireSecret()),
            base64Decode(ciphertext ?? ''),
          );
          return crypto.subtle.importKey('pkcs8', pkcs8, rsa, false, ['sign']);
        })();
        privateKeys.set(key.kid, privateKey);
        privateKey.catch(() => privateKeys.delete(key.kid));
      }
      return new Uint8Array(await crypto.subtle.sign(rsa, await privateKey, signingInput));
    },
  };
}
