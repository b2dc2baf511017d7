// Secrets the local stack generates once and keeps under .phobos/ (mode 0600): the embedded
// server's password, the local admin password, the local key-encryption key.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/** The secret stored at `path`, created with `bytes` random bytes on first use. */
export function readOrCreateSecret(path: string, bytes = 18): { secret: string; created: boolean } {
  if (existsSync(path)) return { secret: readFileSync(path, 'utf8').trim(), created: false };
  const secret = randomBytes(bytes).toString('base64url');
  writeFileSync(path, `${secret}\n`, { mode: 0o600 });
  return { secret, created: true };
}
