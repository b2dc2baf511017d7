// A workload-identity issuer for tests, shaped like a CI system's (GitHub Actions, GitLab): OpenID
// discovery and a JWKS on loopback, and tokens signed with its own RSA key.
import { createServer, type Server } from 'node:http';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { freePort } from '../setup/global-database';

export interface CiIssuer {
  issuer: string;
  issue(claims: Record<string, unknown>, options?: { expiresIn?: string | number; audience?: string | string[] }): Promise<string>;
  stop(): Promise<void>;
}

export async function startCiIssuer(): Promise<CiIssuer> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'ci-key-1', alg: 'RS256', use: 'sig' };
  const server: Server = createServer((req, res) => {
    const body =
      req.url === '/.well-known/openid-configuration'
        ? {
            issuer,
            jwks_uri: `${issuer}/jwks`,
            authorization_endpoint: `${issuer}/authorize`,
            token_endpoint: `${issuer}/token`,
            id_token_signing_alg_values_supported: ['RS256'],
          }
        : req.url === '/jwks'
          ? { keys: [jwk] }
          : undefined;
    res.statusCode = body ? 200 : 404;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body ?? { error: 'not found' }));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    issuer,
    issue: (claims, options = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: 'ci-key-1', typ: 'JWT' })
        .setIssuer(issuer)
        .setAudience(options.audience ?? 'phobos')
        .setIssuedAt()
        .setExpirationTime(options.expiresIn ?? '5m')
        .sign(privateKey as CryptoKey),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
