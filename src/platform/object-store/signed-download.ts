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

// Presigned part uploads for the same stores: PUT /objects/upload-part (src/routes/objects.ts)
// stores one part of an open multipart upload for whoever holds a URL the Worker signed for exactly
// that key, upload, part number and size. Each part is a request of its own (at most 64 MiB, far
// under a Worker's request body cap), so a binary of any size is uploaded without ever being one
// request. Signed under a purpose of its own: a download signature never opens an upload.

export const uploadPartPath = '/objects/upload-part';

const uploadPurpose = 'phobos-edge/object-upload-parts/v1';
const uploadHmacKey = (secret: string) => derivedKey(secret, uploadPurpose, { name: 'HMAC', hash: 'SHA-256', length: 256 }, ['sign']);

export interface SignedPart {
  key: string;
  uploadId: string;
  partNumber: number;
  sizeBytes: number;
}

const signedPartText = (part: SignedPart, expires: number) =>
  `${uploadPurpose}\n${utf8Encode(part.key).length}:${part.key}\n${utf8Encode(part.uploadId).length}:${part.uploadId}\n${part.partNumber}\n${part.sizeBytes}\n${expires}`;

async function partSignature(secret: string, part: SignedPart, expires: number): Promise<string> {
  const mac = await crypto.subtle.sign('HMAC', await uploadHmacKey(secret), utf8Encode(signedPartText(part, expires)));
  return base64urlEncode(new Uint8Array(mac));
}

/** The URL one part may be PUT to under `apiUrl`, valid until `expires` (Unix seconds). */
export async function signedUploadPartUrl(secret: string, apiUrl: string, part: SignedPart, expires: number): Promise<string> {
  const url = new URL(`${apiUrl.replace(/\/+$/, '')}${uploadPartPath}`);
  url.searchParams.set('key', part.key);
  url.searchParams.set('uploadId', part.uploadId);
  url.searchParams.set('partNumber', String(part.partNumber));
  url.searchParams.set('size', String(part.sizeBytes));
  url.searchParams.set('expires', String(expires));
  url.searchParams.set('signature', await partSignature(secret, part, expires));
  return url.toString();
}

/** Checks an upload-part URL's parameters as verifyDownload does; the part it names when valid. */
export async function verifyUploadPart(
  secret: string,
  params: { key?: string; uploadId?: string; partNumber?: string; size?: string; expires?: string; signature?: string },
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<{ verdict: DownloadVerdict; part?: SignedPart }> {
  const { key, uploadId, partNumber, size, expires, signature: given } = params;
  const wellFormed =
    key && uploadId && partNumber && size && expires && given && /^[0-9]{1,5}$/.test(partNumber) && /^[0-9]{1,12}$/.test(size) && /^[0-9]{1,12}$/.test(expires);
  if (!wellFormed || !isCanonicalBase64url(given)) return { verdict: 'invalid' };
  const part = { key, uploadId, partNumber: Number(partNumber), sizeBytes: Number(size) };
  const expected = await partSignature(secret, part, Number(expires));
  if (!constantTimeEqual(expected, given)) return { verdict: 'invalid' };
  return { verdict: Number(expires) < nowSeconds ? 'expired' : 'valid', part };
}
