// The `memory` JWS provider: RSA keys generated in the Worker with WebCrypto. "Memory" in Phobos
// means in-process; a Worker has no durable process memory, so the private key is kept in the
// database, encrypted with AES-256-GCM under a key derived (HKDF-SHA-256) from
// PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_ENCRYPTION_KEY (platform/envelope.ts), with the kid as
// associated data so a ciphertext cannot be moved to another key's row.
import { AppError } from '../../errors';
import { envelope } from '../../platform/envelope';
import type { SigningKey } from '../../db/schema';
import { newKeyId, type JwsProvider, type NewSigningKey } from './provider';

const rsa = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

// The salt stays what it was before the envelope was shared: keys stored since then still open.
const signingKeyPurpose = 'phobos-edge/signing-keys/v1';

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
      const { kty, n, e } = (await crypto.subtle.exportKey('jwk', pair.publicKey)) as JsonWebKey;
      return {
        kid,
        algorithm: 'RS256',
        publicJwk: { kty, n, e },
        encryptedPrivateKey: await envelope(secret, signingKeyPurpose).seal(pkcs8, kid),
      };
    },
    async sign(key: SigningKey, signingInput: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
      let privateKey = privateKeys.get(key.kid);
      if (!privateKey) {
        privateKey = (async () => {
          const pkcs8 = await envelope(requireSecret(), signingKeyPurpose).open(key.encryptedPrivateKey ?? '', key.kid);
          return crypto.subtle.importKey('pkcs8', pkcs8, rsa, false, ['sign']);
        })();
        privateKeys.set(key.kid, privateKey);
        privateKey.catch(() => privateKeys.delete(key.kid));
      }
      return new Uint8Array(await crypto.subtle.sign(rsa, await privateKey, signingInput));
    },
  };
}
