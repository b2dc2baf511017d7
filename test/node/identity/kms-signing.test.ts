// The awskms JWS provider end to end: a Worker configured with PHOBOS_JWS_PROVIDER_PLUGIN_TYPE=awskms
// creates its signing key in KMS (a fake that checks SigV4 and follows the KMS API's shapes), signs
// every token with the KMS Sign API, and publishes the KMS public key in its JWKS.
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeKms, type FakeKms } from '../../fakes/kms';
import { signInWithPassword, startWorkerServer, type WorkerServer } from '../../support/worker-server';

const credentials = { accessKeyId: 'AKIDPHOBOSTEST', secretAccessKey: 'fake-kms-secret-key', region: 'eu-west-1' };
let kms: FakeKms;
const servers: WorkerServer[] = [];

async function kmsServer(keySpec: string): Promise<WorkerServer> {
  const server = await startWorkerServer({
    PHOBOS_JWS_PROVIDER_PLUGIN_TYPE: 'awskms',
    PHOBOS_JWS_PROVIDER_PLUGIN_DATA_REGION: credentials.region,
    PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_SPEC: keySpec,
    PHOBOS_JWS_PROVIDER_PLUGIN_DATA_ALIAS_PREFIX: 'phobos-test',
    PHOBOS_JWS_PROVIDER_PLUGIN_DATA_TAGS: 'team=platform,env=test',
    PHOBOS_JWS_PROVIDER_PLUGIN_DATA_ENDPOINT: kms.url,
    PHOBOS_JWS_PROVIDER_PLUGIN_DATA_AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    PHOBOS_JWS_PROVIDER_PLUGIN_DATA_AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
  });
  servers.push(server);
  return server;
}

beforeAll(async () => {
  kms = await startFakeKms(credentials);
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()));
  await kms?.close();
});

describe.each([
  ['ECC_NIST_P256', 'ES256', 'EC'],
  ['RSA_2048', 'RS256', 'RSA'],
])('awskms provider with %s', (keySpec, algorithm, kty) => {
  it(`signs tokens with ${algorithm} in KMS that verify against the published JWKS`, async () => {
    const server = await kmsServer(keySpec);
    const signsBefore = kms.keys.signCount();
    const tokens = await signInWithPassword(server, server.admin.email, server.admin.password);
    expect(decodeProtectedHeader(tokens.access_token).alg).toBe(algorithm);
    expect(kms.keys.signCount()).toBeGreaterThan(signsBefore);

    const jwks = createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: server.url, audience: 'phobos', algorithms: [algorithm] });
    expect(payload.email).toBe(server.admin.email);
    const published = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: { kty: string; kid: string }[] };
    expect(published.keys.map((key) => key.kty)).toEqual([kty]);

    // The key lives in KMS, tagged and aliased as configured; only its id is in the database.
    const alias = kms.keys.aliases().find((entry) => entry.aliasName === `alias/phobos-test-${published.keys[0]!.kid}`);
    expect(alias).toBeDefined();
    expect(kms.keys.tags(alias!.targetKeyId)).toEqual({ team: 'platform', env: 'test' });
    const stored = await server.database.query<{ provider: string; kms_key_id: string; encrypted_private_key: string | null }>(
      'select provider, kms_key_id, encrypted_private_key from signing_keys',
    );
    expect(stored.rows).toEqual([{ provider: 'awskms', kms_key_id: alias!.targetKeyId, encrypted_private_key: null }]);

    const whoami = await fetch(`${server.url}/auth/whoami`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(whoami.status).toBe(200);
  });
});

it('reports a KMS failure as 503 without leaking credentials', async () => {
  const server = await startWorkerServer({
    PHOBOS_JWS_PROVIDER_PLUGIN_TYPE: 'awskms',
    PHOBOS_JWS_PROVIDER_PLUGIN_DATA_REGION: credentials.region,
    PHOBOS_JWS_PROVIDER_PLUGIN_DATA_ENDPOINT: kms.url,
    PHOBOS_JWS_PROVIDER_PLUGIN_DATA_AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    PHOBOS_JWS_PROVIDER_PLUGIN_DATA_AWS_SECRET_ACCESS_KEY: 'the-wrong-secret',
  });
  servers.push(server);
  const response = await fetch(`${server.url}/.well-known/jwks.json`);
  expect(response.status).toBe(503);
  const body = await response.text();
  expect(body).toContain('InvalidSignatureException');
  expect(body).not.toContain('the-wrong-secret');
  expect(kms.requests().some((request) => request.errorType === 'InvalidSignatureException')).toBe(true);
});
