// Password hashing with Argon2id (memory-hard) at OWASP's baseline: 19 MiB, 2 passes, 1 lane.
// Workers' WebCrypto caps PBKDF2 at 100,000 iterations and cannot compile WebAssembly from bytes,
// so the hash runs in @noble/hashes' audited pure-JS Argon2 (~0.2 s per hash on this machine).
// Hashes are stored as PHC strings, so parameters can be raised later without breaking old hashes.
import { argon2id } from '@noble/hashes/argon2.js';
import { base64Decode, base64Encode, constantTimeEqual } from '../platform/encoding';

const defaults = { m: 19456, t: 2, p: 1 } as const;
const saltBytes = 16;
const hashBytes = 32;

// PHC strings use standard base64 without padding.
const toBase64 = (bytes: Uint8Array) => base64Encode(bytes, { padding: false });

export function hashPassword(password: string): string {
  const salt = crypto.getRandomValues(new Uint8Array(saltBytes));
  const hash = argon2id(password, salt, { ...defaults, dkLen: hashBytes });
  return `$argon2id$v=19$m=${defaults.m},t=${defaults.t},p=${defaults.p}$${toBase64(salt)}$${toBase64(hash)}`;
}

const phcPattern = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** Constant-time check of `password` against a stored PHC hash; false for malformed hashes. */
export function verifyPassword(password: string, stored: string): boolean {
  const match = phcPattern.exec(stored);
  if (!match) return false;
  const [, m, t, p, salt, expected] = match;
  const expectedBytes = base64Decode(expected!);
  const actual = argon2id(password, base64Decode(salt!), {
    m: Number(m),
    t: Number(t),
    p: Number(p),
    dkLen: expectedBytes.length,
  });
  return constantTimeEqual(actual, expectedBytes);
}
