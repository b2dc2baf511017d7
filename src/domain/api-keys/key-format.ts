// The shape of an API key: `phb_<prefix>_<secret>`. The prefix is public (shown in listings,
// indexed for lookup); the secret carries 256 bits of randomness. Only the SHA-256 of the whole key
// is stored, and the key is returned once, at creation.
import { randomSecret, sha256Hex } from '../../auth/secrets';

const keyPattern = /^phb_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/;
const prefixAlphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function newPrefix(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (byte) => prefixAlphabet[byte % prefixAlphabet.length]).join('');
}

export async function newApiKey(): Promise<{ prefix: string; key: string; hash: string }> {
  const prefix = newPrefix();
  const key = `phb_${prefix}_${randomSecret()}`;
  return { prefix, key, hash: await sha256Hex(key) };
}

/** The public prefix of a well-formed key, or undefined. */
export function prefixOf(presented: string): string | undefined {
  return keyPattern.exec(presented)?.[1];
}
