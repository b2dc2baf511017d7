// The byte encodings the platform uses (base64, base64url, hex, UTF-8) and constant-time
// comparison, in one place. The codecs are jose's and hono's; what is ours is the strictness:
// decoding base64url for a security decision accepts only the canonical spelling, because a
// decoder that ignores the unused low bits of the last character lets one value be written
// several ways (a JWS whose signature differs in those bits would otherwise still verify).
import { base64url } from 'jose';
import { decodeBase64, encodeBase64 } from 'hono/utils/encode';

const utf8Encoder = new TextEncoder();

export const utf8Encode = (text: string): Uint8Array<ArrayBuffer> => utf8Encoder.encode(text);

export function base64urlEncode(input: Uint8Array | string): string {
  return base64url.encode(input);
}

const base64urlAlphabet = /^[A-Za-z0-9_-]*$/;

/** Unpadded base64url that decodes and encodes back to exactly itself. */
export function isCanonicalBase64url(text: string): boolean {
  if (!base64urlAlphabet.test(text) || text.length % 4 === 1) return false;
  try {
    return base64url.encode(base64url.decode(text)) === text;
  } catch {
    return false;
  }
}

/** Standard base64; `padding: false` for formats that omit it (PHC password hashes). */
export function base64Encode(bytes: Uint8Array, options: { padding?: boolean } = {}): string {
  const encoded = encodeBase64(bytes.slice().buffer);
  return options.padding === false ? encoded.replace(/=+$/, '') : encoded;
}

/** Standard base64, padded or not (atob's forgiving decoder); throws on other characters. */
export function base64Decode(text: string): Uint8Array<ArrayBuffer> {
  return decodeBase64(text);
}

export function hexEncode(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/**
 * Compares secrets without an early exit, so the time taken does not reveal how many leading
 * bytes matched. Strings are compared as UTF-8. (The length difference is not hidden; secrets
 * compared here have a public, fixed length.)
 */
export function constantTimeEqual(a: string | Uint8Array, b: string | Uint8Array): boolean {
  const left = typeof a === 'string' ? utf8Encode(a) : a;
  const right = typeof b === 'string' ? utf8Encode(b) : b;
  let difference = left.length ^ right.length;
  for (let i = 0; i < Math.max(left.length, right.length); i++) difference |= (left[i] ?? 0) ^ (right[i] ?? 0);
  return difference === 0;
}
