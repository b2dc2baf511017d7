// Job tokens are signed synchronously (src/auth/job-tokens.ts, so the agent queue can hand a lease
// out before it writes anything) and verified by jose: the token must be exactly what jose's SignJWT
// makes of the same claims with the same HKDF-derived key, and verification must stay strict.
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { mintJobToken, verifyJobToken } from '../../src/auth/job-tokens';

/** Only the settings job tokens read. */
const configOf = (keyEncryptionKey: string | undefined, apiUrl = 'https://phobos.example.test') =>
  ({ jwsProvider: { keyEncryptionKey }, server: { apiUrl } }) as unknown as Parameters<typeof mintJobToken>[0];
const config = configOf('job-token-test-secret');
const claims = { jobId: crypto.randomUUID(), leaseId: crypto.randomUUID(), agentId: crypto.randomUUID() };

/** The key as WebCrypto derives it (HKDF-SHA-256, the purpose as salt), for jose to sign with. */
async function webCryptoKey(secret: string): Promise<CryptoKey> {
  const encoder = new TextEncoder();
  const material = await crypto.subtle.importKey('raw', encoder.encode(secret), 'HKDF', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: encoder.encode('phobos-edge/job-tokens/v1'), info: new Uint8Array() },
    material,
    { name: 'HMAC', hash: 'SHA-256', length: 256 },
    false,
    ['sign'],
  );
}

describe('job tokens', () => {
  it('are the compact JWS jose signs for the same claims, byte for byte', async () => {
    const now = new Date('2026-12-05T10:00:00Z');
    const issuedAt = Math.floor(now.getTime() / 1000);
    for (const named of [claims, { jobId: claims.jobId, leaseId: claims.leaseId }]) {
      const byJose = await new SignJWT('agentId' in named ? { lease: named.leaseId, agent: named.agentId } : { lease: named.leaseId })
        .setProtectedHeader({ alg: 'HS256', typ: 'phobos-job+jwt' })
        .setIssuer(config.server.apiUrl)
        .setAudience('phobos-edge/job')
        .setSubject(named.jobId)
        .setIssuedAt(issuedAt)
        .setExpirationTime(issuedAt + 600 + 3600)
        .sign(await webCryptoKey('job-token-test-secret'));
      expect(mintJobToken(config, named, 600, now)).toBe(byJose);
    }
  });

  it('verify back to their job, lease and agent', async () => {
    await expect(verifyJobToken(config, mintJobToken(config, claims, 600))).resolves.toEqual(claims);
  });

  it('are refused when altered, signed with another secret, expired or issued elsewhere', async () => {
    const token = mintJobToken(config, claims, 600);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const otherSignature = signature.startsWith('A') ? `B${signature.slice(1)}` : `A${signature.slice(1)}`;
    const refused = [
      `${header}.${payload}.${otherSignature}`,
      mintJobToken(configOf('another-secret'), claims, 600),
      mintJobToken(config, claims, 1, new Date(Date.now() - 2 * 3600 * 1000)),
      mintJobToken(configOf('job-token-test-secret', 'https://elsewhere.example.test'), claims, 600),
    ];
    for (const bad of refused) await expect(verifyJobToken(config, bad)).rejects.toThrow('The job token is invalid or expired');
  });

  it('need the installation secret', () => {
    expect(() => mintJobToken(configOf(undefined), claims, 600)).toThrow('PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_ENCRYPTION_KEY');
  });
});
