// Automation: a service account signs in with a CI system's OIDC token (token exchange) and with
// an API key; users create, use and revoke API keys; resource limits hold under concurrency.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCiIssuer, type CiIssuer } from '../../support/ci-issuer';
import { signInWithPassword, startWorkerServer, type WorkerServer } from '../../support/worker-server';

let server: WorkerServer;
let ci: CiIssuer;
let otherCi: CiIssuer;
let adminToken: string;
let serviceAccountId: string;

const tokenExchange = 'urn:ietf:params:oauth:grant-type:token-exchange';

beforeAll(async () => {
  [server, ci, otherCi] = await Promise.all([startWorkerServer(), startCiIssuer(), startCiIssuer()]);
  const org = await server.database.query<{ id: string }>("insert into organizations (name) values ('acme') returning id");
  const account = await server.database.query<{ id: string }>("insert into service_accounts (organization_id, name) values ($1, 'deployer') returning id", [
    org.rows[0]!.id,
  ]);
  serviceAccountId = account.rows[0]!.id;
  await server.database.query('insert into service_account_trust_policies (service_account_id, issuer, bound_claims) values ($1, $2, $3)', [
    serviceAccountId,
    ci.issuer,
    JSON.stringify({ repository: 'acme/web', ref: 'refs/heads/main' }),
  ]);
  adminToken = (await signInWithPassword(server, server.admin.email, server.admin.password)).access_token;
}, 60_000);

afterAll(async () => {
  await Promise.all([server?.stop(), ci?.stop(), otherCi?.stop()]);
});

function exchange(subjectToken: string, serviceAccount = 'acme/deployer') {
  return fetch(`${server.url}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: tokenExchange,
      subject_token: subjectToken,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      service_account: serviceAccount,
    }),
  });
}

function whoami(headers: Record<string, string>) {
  return fetch(`${server.url}/auth/whoami`, { headers });
}

describe('service account sign-in with a trusted OIDC token', () => {
  const trusted = { repository: 'acme/web', ref: 'refs/heads/main', sub: 'repo:acme/web:ref:refs/heads/main' };
  // The policy names no audience: the token must be meant for Phobos, whose issuer URL is the server's URL.
  const forPhobos = () => ({ audience: server.url });

  it('exchanges a token that matches a trust policy for a short-lived Phobos token', async () => {
    const response = await exchange(await ci.issue(trusted, forPhobos()));
    expect(response.status).toBe(200);
    const body = (await response.json()) as { access_token: string; token_type: string; expires_in: number; issued_token_type: string };
    expect(body.token_type).toBe('Bearer');
    expect(body.expires_in).toBe(3600);
    expect(body.issued_token_type).toBe('urn:ietf:params:oauth:token-type:access_token');
    const me = await whoami({ authorization: `Bearer ${body.access_token}` });
    expect(await me.json()).toMatchObject({ kind: 'service_account', serviceAccountId, name: 'deployer', via: 'access_token' });
  });

  it.each([
    ['a bound claim differs', () => ci.issue({ ...trusted, ref: 'refs/heads/feature' }, forPhobos())],
    ['the audience differs', () => ci.issue(trusted, { audience: 'someone-else' })],
    ['the token is expired', () => ci.issue(trusted, { ...forPhobos(), expiresIn: Math.floor(Date.now() / 1000) - 120 })],
    ['another issuer signed it', () => otherCi.issue(trusted, forPhobos())],
  ])('refuses the exchange when %s', async (_case, token) => {
    const response = await exchange(await token());
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: 'invalid_grant', error_description: 'The token is not trusted by this service account' });
  });

  it('answers an unknown service account exactly like an untrusted token', async () => {
    const response = await exchange(await ci.issue(trusted, forPhobos()), 'acme/nobody');
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_grant');
  });

  it('rejects malformed exchange requests with 400', async () => {
    expect((await exchange('not-a-jwt')).status).toBe(400);
    expect((await exchange(await ci.issue(trusted, forPhobos()), 'no-slash')).status).toBe(400);
  });
});

describe('trust policies created through GraphQL', () => {
  async function gql<T>(
    query: string,
    variables: Record<string, unknown>,
  ): Promise<{ data?: T; errors?: { message: string; extensions?: { code?: string; field?: string } }[] }> {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as never;
  }

  const addPolicy = `mutation($input: AddServiceAccountTrustPolicyInput!) {
    addServiceAccountTrustPolicy(input: $input) { trustPolicy { issuer audience boundClaims { claim value } } }
  }`;

  /** A new service account `policies/<name>`, and its global id. */
  async function serviceAccount(name: string): Promise<string> {
    const account = await gql<{ createServiceAccount: { serviceAccount: { id: string } } }>(
      'mutation($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { serviceAccount { id } } }',
      { input: { organizationId: organizationGlobalId, name } },
    );
    return account.data!.createServiceAccount.serviceAccount.id;
  }

  let organizationGlobalId: string;
  beforeAll(async () => {
    const created = await gql<{ createOrganization: { organization: { id: string } } }>(
      'mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }',
      { input: { name: 'policies' } },
    );
    organizationGlobalId = created.data!.createOrganization.organization.id;
  });

  it("accepts only tokens meant for Phobos when the policy names no audience (another service's token is refused)", async () => {
    const id = await serviceAccount('default-audience');
    const added = await gql<{ addServiceAccountTrustPolicy: { trustPolicy: { audience: string } } }>(addPolicy, {
      input: { serviceAccountId: id, issuer: ci.issuer, boundClaims: [{ claim: 'repository', value: 'acme/api' }] },
    });
    expect(added.data!.addServiceAccountTrustPolicy.trustPolicy.audience).toBe(server.url);
    const claims = { repository: 'acme/api', sub: 'repo:acme/api' };
    expect((await exchange(await ci.issue(claims, { audience: 'https://another-service.example' }), 'policies/default-audience')).status).toBe(401);
    expect((await exchange(await ci.issue(claims, { audience: server.url }), 'policies/default-audience')).status).toBe(200);
  });

  it('accepts the audience a policy names, among others in `aud`', async () => {
    const id = await serviceAccount('named-audience');
    const added = await gql<{ addServiceAccountTrustPolicy: { trustPolicy: { audience: string } } }>(addPolicy, {
      input: { serviceAccountId: id, issuer: ci.issuer, audience: 'sts.phobos.example', boundClaims: [{ claim: 'repository', value: 'acme/api' }] },
    });
    expect(added.data!.addServiceAccountTrustPolicy.trustPolicy.audience).toBe('sts.phobos.example');
    const claims = { repository: 'acme/api', sub: 'repo:acme/api' };
    expect((await exchange(await ci.issue(claims, { audience: ['other', 'sts.phobos.example'] }), 'policies/named-audience')).status).toBe(200);
    expect((await exchange(await ci.issue(claims, { audience: server.url }), 'policies/named-audience')).status).toBe(401);
    const blank = await gql(addPolicy, {
      input: { serviceAccountId: id, issuer: ci.issuer, audience: ' padded ', boundClaims: [{ claim: 'repository', value: 'acme/api' }] },
    });
    expect(blank.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'audience' });
  });

  it.each(['constructor', 'toString', '__proto__'])('treats a bound claim named %s as a claim the token must carry', async (claim) => {
    const name = `claim-${claim.replaceAll('_', '')}`.toLowerCase();
    const id = await serviceAccount(name);
    const inherited = String(({} as Record<string, unknown>)[claim]);
    const added = await gql<{ addServiceAccountTrustPolicy: { trustPolicy: { boundClaims: { claim: string; value: string }[] } } }>(addPolicy, {
      input: { serviceAccountId: id, issuer: ci.issuer, boundClaims: [{ claim, value: inherited }] },
    });
    expect(added.errors).toBeUndefined();
    expect(added.data!.addServiceAccountTrustPolicy.trustPolicy.boundClaims).toEqual([{ claim, value: inherited }]);
    // A token without the claim does not match through what every object inherits.
    expect((await exchange(await ci.issue({ sub: 'x' }, { audience: server.url }), `policies/${name}`)).status).toBe(401);
    const twice = await gql(addPolicy, {
      input: {
        serviceAccountId: id,
        issuer: ci.issuer,
        boundClaims: [
          { claim, value: 'a' },
          { claim, value: 'b' },
        ],
      },
    });
    expect(twice.errors?.[0]?.message).toBe(`boundClaims: claim ${claim} is bound twice`);
  });
});

describe('API keys', () => {
  async function createKey(body: Record<string, unknown>, token = adminToken) {
    return fetch(`${server.url}/auth/api-keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  it('is shown once, stored hashed, and authenticates as its service account until revoked', async () => {
    const created = await createKey({ name: 'ci key', serviceAccountId });
    expect(created.status).toBe(201);
    const { apiKey, secret } = (await created.json()) as { apiKey: { id: string; prefix: string; secretHash?: string }; secret: string };
    expect(secret).toMatch(/^phb_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect(secret.startsWith(`phb_${apiKey.prefix}_`)).toBe(true);
    expect(apiKey.secretHash).toBeUndefined();
    const stored = await server.database.query<{ secret_hash: string }>('select secret_hash from api_keys where id = $1', [apiKey.id]);
    expect(stored.rows[0]!.secret_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored.rows[0]!.secret_hash).not.toContain(secret);

    const me = await whoami({ 'x-api-key': secret });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ kind: 'service_account', serviceAccountId, via: 'api_key' });
    await expect
      .poll(async () => (await server.database.query('select last_used_at from api_keys where id = $1', [apiKey.id])).rows[0]!.last_used_at)
      .not.toBeNull();

    const revoked = await fetch(`${server.url}/auth/api-keys/${apiKey.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${adminToken}` } });
    expect(revoked.status).toBe(200);
    const refused = await whoami({ 'x-api-key': secret });
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { detail: string }).detail).toBe('API key revoked');
  });

  it('refuses expired, unknown and malformed keys, each with its reason', async () => {
    const { apiKey, secret } = (await (await createKey({ name: 'short-lived' })).json()) as { apiKey: { id: string }; secret: string };
    expect((await whoami({ 'x-api-key': secret })).status).toBe(200);
    await server.database.query("update api_keys set expires_at = now() - interval '1 minute' where id = $1", [apiKey.id]);
    const expired = await whoami({ 'x-api-key': secret });
    expect(((await expired.json()) as { detail: string }).detail).toBe('API key expired');
    const wrongSecret = `${secret.slice(0, -4)}AAAA`;
    expect(((await (await whoami({ 'x-api-key': wrongSecret })).json()) as { detail: string }).detail).toBe('Unknown API key');
    expect(((await (await whoami({ 'x-api-key': 'hello' })).json()) as { detail: string }).detail).toBe('Malformed API key');
  });

  it('validates input and names the field', async () => {
    const past = await createKey({ name: 'x', expiresAt: '2001-01-01T00:00:00Z' });
    expect(past.status).toBe(400);
    expect(await past.json()).toMatchObject({ code: 'BAD_USER_INPUT', field: 'expiresAt' });
    const noName = await createKey({ name: '   ' });
    expect(await noName.json()).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
    const nul = await createKey({ name: 'ci\u0000key' });
    expect(nul.status).toBe(400);
    expect(await nul.json()).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
    const notAnObject = await createKey('just a string' as never);
    expect(await notAnObject.json()).toMatchObject({ code: 'BAD_USER_INPUT' });
    const badId = await createKey({ name: 'x', serviceAccountId: 'not-a-uuid' });
    expect(await badId.json()).toMatchObject({ code: 'BAD_USER_INPUT', field: 'serviceAccountId' });
    const anonymous = await fetch(`${server.url}/auth/api-keys`, { method: 'POST', body: '{}' });
    expect(anonymous.status).toBe(401);
  });

  it('never exceeds ResourceLimitApiKeysPerUser, even under concurrent creates', async () => {
    await server.database.query(
      "update resource_limits set value = (select count(*) from api_keys a join users u on u.id = a.user_id where u.email = $1 and a.revoked_at is null) + 3 where name = 'ResourceLimitApiKeysPerUser'",
      [server.admin.email],
    );
    const responses = await Promise.all(Array.from({ length: 8 }, (_, i) => createKey({ name: `burst-${i}` })));
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses.filter((status) => status === 201)).toHaveLength(3);
    expect(statuses.filter((status) => status === 422)).toHaveLength(5);
    const refused = responses.find((response) => response.status === 422)!;
    expect(await refused.json()).toMatchObject({ code: 'RESOURCE_LIMIT_EXCEEDED', limit: 'ResourceLimitApiKeysPerUser' });
  });
});
