// Random secrets and their stored form. Opaque tokens (refresh tokens, authorization codes, API
// keys) carry 256 bits of randomness, so a single SHA-256 is a safe stored form: there is nothing
// to brute-force, and lookup stays one indexed equality.
import { base64urlEncode, hexEncode, utf8Encode } from '../platform/encoding';

export function randomSecret(bytes = 32): string {
  return base64urlEncode(crypto.getRandomValues(new Uint8Array(bytes)));
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', utf8Encode(text)));
}

export async function sha256Hex(text: string): Promise<string> {
  return hexEncode(await sha256(text));
}

export async function sha256Base64url(text: string): Promise<string> {
  return base64urlEncode(await sha256(text));
}
