// Presigned downloads for stores that cannot presign themselves (an R2 binding has no S3
// credentials to sign with): the Worker signs `key` and an expiry with HMAC-SHA-256, and
// GET /objects/download (src/routes/objects.ts) serves the object to whoever holds a URL whose
// signature verifies and has not expired. The HMAC key is derived with HKDF from
// PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_ENCRYPTION_KEY under a salt of its own, so it is never the
// key that seals secrets, and rotating that variable voids every URL handed out.
import { derivedKey } from '../derived-keys';
import { base64urlEncode, constantTimeEqual, isCanonicalBase64url, utf8Encode } from '../encoding';

export const downloadPath = '/objects/download';

const purpose = 'phobos-edge/object-downloads/v1';
const hmacKey = (secret: string) => derivedKey(secret, purpose, { name: 'HMAC', hash: 'SHA-256', length: 256 }, ['sign']);

// The key is length-prefixed so no (key, expiry) pair can be spelled as another.
const signedText = (key: string, expires: number) => `${purpose}\n${utf8Encode(key).length}:${key}\n${expires}`;

async function signature(secret: string, key: string, expires: number): Promise<string> {
  const mac = await crypto.subtle.sign('HMAC', await hmacKey(secret), utf8Encode(signedText(key, expires)));
  return base64urlEncode(new Uint8Array(mac));
}

/** The download URL of `key` under `apiUrl`, valid until `expires` (Unix seconds). */
export async function signedDownloadUrl(secret: string, apiUrl: string, key: string, expires: number): Promise<string> {
  // Appended, not resolved: an API served under a path keeps it.
  const url = new URL(`${apiUrl.replace(/\/+$/, '')}${downloadPath}`);
  url.searchParams.set('key', key);
  url.searchParams.set('expires', String(expires));
  url.searchParams.set('signature', await signature(secret, key, expires));
  return url.toString();
}

export type DownloadVerdict = 'valid' | 'expired' | 'invalid';

/**
 * Checks a download URL's parameters: `invalid` unless the signature is the one this installation
 * makes for exactly this key and expiry (compared in constant time); `expired` once the expiry has
 * passed. Expiry is checked after the signature, so an expired verdict is only given to URLs that
 * were genuinely issued.
 */
export async function verifyDownload(
  secret: string,
  params: { key?: string; expires?: string; signature?: string },
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<DownloadVerdict> {
  const { key, expires, signature: given } = params;
  if (!key || !expires || !given || !/^[0-9]{1,12}$/.test(expires) || !isCanonicalBase64url(given)) return 'invalid';
  const expected = await signature(secret, key, Number(expires));
  if (!constantTimeEqual(expected, given)) return 'invalid';
  return Number(expires) < nowSeconds ? 'expired' : 'valid';
}
