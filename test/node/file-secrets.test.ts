import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveFileSecrets, SecretFileError } from '../../src/config/file-secrets';
import { loadConfig } from '../../src/config/load';
import { loadNodeEnvironment } from '../../scripts/local-stack/environment';

const dir = mkdtempSync(join(tmpdir(), 'phobos-secrets-'));
function secretFile(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('NAME_FILE secrets', () => {
  it('takes the file content, which wins over NAME, with one trailing newline trimmed', () => {
    const { env, fromFile } = resolveFileSecrets({
      PHOBOS_DB_PASSWORD: 'from-env',
      PHOBOS_DB_PASSWORD_FILE: secretFile('db', 'from-file\n'),
    });
    expect(env.PHOBOS_DB_PASSWORD).toBe('from-file');
    expect(env.PHOBOS_DB_PASSWORD_FILE).toBeUndefined();
    expect(fromFile).toEqual(['PHOBOS_DB_PASSWORD']);
    expect(loadConfig(env).database.password).toBe('from-file');
  });

  it('works for indexed and SSO preset secrets', () => {
    const { env } = resolveFileSecrets({
      PHOBOS_OAUTH_PROVIDERS_0_CLIENT_SECRET_FILE: secretFile('oidc', 's3cret'),
      GITHUB_CLIENT_SECRET_FILE: secretFile('gh', 'gh-secret\n'),
    });
    expect(env.PHOBOS_OAUTH_PROVIDERS_0_CLIENT_SECRET).toBe('s3cret');
    expect(env.GITHUB_CLIENT_SECRET).toBe('gh-secret');
  });

  it('leaves variables whose own name ends in _FILE alone', () => {
    const { env, fromFile } = resolveFileSecrets({ PHOBOS_TLS_CERT_FILE: '/etc/tls/cert.pem' });
    expect(env.PHOBOS_TLS_CERT_FILE).toBe('/etc/tls/cert.pem');
    expect(fromFile).toEqual([]);
  });

  it('names the variable and path when the file cannot be read', () => {
    const missing = join(dir, 'missing');
    expect(() => resolveFileSecrets({ PHOBOS_ADMIN_USER_PASSWORD_FILE: missing })).toThrow(SecretFileError);
    expect(() => resolveFileSecrets({ PHOBOS_ADMIN_USER_PASSWORD_FILE: missing })).toThrow(`PHOBOS_ADMIN_USER_PASSWORD_FILE: cannot read ${missing}`);
  });

  it('logs only "from file" under DEBUG, never the value', () => {
    const lines: string[] = [];
    loadNodeEnvironment({ DEBUG: 'true', PHOBOS_ADMIN_USER_PASSWORD_FILE: secretFile('admin', 'hunter2-very-secret') }, (line) => lines.push(line));
    expect(lines).toEqual(['[debug] PHOBOS_ADMIN_USER_PASSWORD from file']);
    expect(lines.join('\n')).not.toContain('hunter2');
  });

  it('says nothing about sources without DEBUG', () => {
    const lines: string[] = [];
    loadNodeEnvironment({ PHOBOS_ADMIN_USER_PASSWORD_FILE: secretFile('admin2', 'x') }, (line) => lines.push(line));
    expect(lines).toEqual([]);
  });
});
