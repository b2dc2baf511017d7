// VCS providers against a fake GitHub and GitLab (test/fakes/vcs.ts) on loopback, with a real Worker
// (wrangler's dev server) in front of a database of its own: personal access tokens checked at the
// provider, the OAuth authorization code flow end to end through /auth/vcs/callback, and the
// refresh of an expired token by vcsAccessToken, the function the engine calls.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig, type PhobosConfig } from '../../src/config/load';
import { createDatabase, type HttpDatabase } from '../../src/db/client';
import { vcsAccessToken } from '../../src/domain/vcs-providers/access-token';
import { startFakeVcs, type FakeVcs } from '../fakes/vcs';
import { databaseVars } from '../support/dev-worker';
import { signInWithPassword, startWorkerServer, type WorkerServer } from '../support/worker-server';

let server: WorkerServer;
let fake: FakeVcs;
let adminToken: string;
let organizationId: string;
let organizationName: string;
let db: HttpDatabase;
let config: PhobosConfig;

interface GqlResult<T> {
  data?: T;
  errors?: { message: string; extensions?: { code?: string; field?: string } }[];
  text: string;
}

async function gql<T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}): Promise<GqlResult<T>> {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  return { ...(JSON.parse(text) as { data?: T; errors?: GqlResult<T>['errors'] }), text };
}

const providerFields = 'id name type url apiUrl authType accountName connected tokenExpiresAt oauthClientId metadata { version prn }';
const createMutation = `mutation($input: CreateVCSProviderInput!) { createVCSProvider(input: $input) { vcsProvider { ${providerFields} } oauthAuthorizationUrl } }`;

interface Provider {
  id: string;
  name: string;
  accountName: string | null;
  connected: boolean;
  tokenExpiresAt: string | null;
  metadata: { version: string; prn: string };
}
type Created = { createVCSProvider: { vcsProvider: Provider; oauthAuthorizationUrl: string | null } };

const idOf = (globalId: string) => atob(globalId).split(':')[1]!;

beforeAll(async () => {
  [server, fake] = await Promise.all([startWorkerServer(), startFakeVcs()]);
  adminToken = (await signInWithPassword(server, server.admin.email, server.admin.password)).access_token;
  organizationName = 'acme';
  const created = await gql<{ createOrganization: { organization: { id: string } } }>(
    'mutation { createOrganization(input: { name: "acme" }) { organization { id } } }',
  );
  organizationId = created.data!.createOrganization.organization.id;
  const bridgeUrl = inject('database').bridgeUrl;
  config = loadConfig({ ...databaseVars(server.database.url, bridgeUrl), PHOBOS_API_URL: server.url });
  db = createDatabase({ connectionString: server.database.url, proxyUrl: bridgeUrl }).http;
}, 90_000);

afterAll(async () => {
  await Promise.all([server?.stop(), fake?.close()]);
});

describe('personal access tokens', () => {
  it('checks a GitHub token at GET /user, stores the account name and the token sealed, and never answers it', async () => {
    const token = fake.personalAccessToken('github', 'octocat');
    const created = await gql<Created>(createMutation, {
      input: { organizationId, name: 'github', type: 'GITHUB', url: fake.url, apiUrl: fake.url, authType: 'PERSONAL_ACCESS_TOKEN', personalAccessToken: token },
    });
    expect(created.errors).toBeUndefined();
    const provider = created.data!.createVCSProvider.vcsProvider;
    expect(provider).toMatchObject({
      name: 'github',
      accountName: 'octocat',
      connected: true,
      tokenExpiresAt: null,
      metadata: { prn: `prn:vcs_provider:${organizationName}/github` },
    });
    expect(created.data!.createVCSProvider.oauthAuthorizationUrl).toBeNull();
    expect(created.text).not.toContain(token);
    expect(fake.requests().some((request) => request.path === '/user' && request.status === 200)).toBe(true);

    const stored = await server.database.query<{ encrypted_access_token: string }>('select encrypted_access_token from vcs_providers where id = $1', [
      idOf(provider.id),
    ]);
    expect(stored.rows[0]!.encrypted_access_token).not.toContain(token);
    expect(stored.rows[0]!.encrypted_access_token).toMatch(/^[A-Za-z0-9+/=]+\.[A-Za-z0-9+/=]+$/);
    const events = await server.database.query<{ payload: unknown }>(
      "select payload from activity_events where target_type = 'vcs_provider' and action = 'create'",
    );
    expect(events.rows).toHaveLength(1);
    expect(JSON.stringify(events.rows)).not.toContain(token);
    // The engine gets it back, opened with the installation's key.
    expect(await vcsAccessToken(db, config, idOf(provider.id))).toBe(token);
  });

  it('checks a self-hosted GitLab token at <url>/api/v4/user (the API address defaulted from the instance address)', async () => {
    const token = fake.personalAccessToken('gitlab', 'gitlab-bot');
    const created = await gql<Created>(createMutation, {
      input: { organizationId, name: 'gitlab', type: 'GITLAB', url: fake.url, authType: 'PERSONAL_ACCESS_TOKEN', personalAccessToken: token },
    });
    expect(created.errors).toBeUndefined();
    expect(created.data!.createVCSProvider.vcsProvider).toMatchObject({ accountName: 'gitlab-bot', apiUrl: `${fake.url}/api/v4` });
    expect(created.text).not.toContain(token);
  });

  it('refuses a token the provider refuses, naming the field, and stores nothing', async () => {
    const refused = await gql<Created>(createMutation, {
      input: {
        organizationId,
        name: 'refused',
        type: 'GITHUB',
        url: fake.url,
        apiUrl: fake.url,
        authType: 'PERSONAL_ACCESS_TOKEN',
        personalAccessToken: 'ghp_not-a-real-token',
      },
    });
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'personalAccessToken' });
    expect(refused.errors?.[0]?.message).toContain('GitHub refused the token (401)');
    expect(refused.text).not.toContain('ghp_not-a-real-token');
    const rows = await server.database.query("select 1 from vcs_providers where name = 'refused'");
    expect(rows.rows).toHaveLength(0);
    const events = await server.database.query("select 1 from activity_events where payload->>'name' = 'refused'");
    expect(events.rows).toHaveLength(0);
  });

  it('rotates the token with updateVCSProvider, checking the new one and the version', async () => {
    const first = fake.personalAccessToken('github', 'octocat');
    const created = await gql<Created>(createMutation, {
      input: {
        organizationId,
        name: 'rotating',
        type: 'GITHUB',
        url: fake.url,
        apiUrl: fake.url,
        authType: 'PERSONAL_ACCESS_TOKEN',
        personalAccessToken: first,
      },
    });
    const provider = created.data!.createVCSProvider.vcsProvider;
    const update = `mutation($input: UpdateVCSProviderInput!) { updateVCSProvider(input: $input) { vcsProvider { ${providerFields} } } }`;
    const second = fake.personalAccessToken('github', 'hubot');
    const refused = await gql(update, { input: { id: provider.id, metadata: { version: provider.metadata.version }, personalAccessToken: 'ghp_wrong' } });
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'personalAccessToken' });
    expect(await vcsAccessToken(db, config, idOf(provider.id))).toBe(first);

    const rotated = await gql<{ updateVCSProvider: { vcsProvider: Provider } }>(update, {
      input: { id: provider.id, metadata: { version: provider.metadata.version }, personalAccessToken: second },
    });
    expect(rotated.errors).toBeUndefined();
    expect(rotated.data!.updateVCSProvider.vcsProvider).toMatchObject({ accountName: 'hubot', metadata: { version: '2' } });
    expect(rotated.text).not.toContain(second);
    expect(await vcsAccessToken(db, config, idOf(provider.id))).toBe(second);
    const events = await server.database.query<{ payload: Record<string, unknown> }>(
      "select payload from activity_events where target_id = $1 and action = 'update'",
      [idOf(provider.id)],
    );
    expect(events.rows).toEqual([{ payload: { name: 'rotating', tokenRotated: true, accountName: 'hubot' } }]);
  });
});

/** Follows the provider's authorize redirect and calls the callback it names, as a browser would. */
async function authorizeInBrowser(authorizationUrl: string): Promise<{ callbackUrl: string; response: Response }> {
  const atProvider = await fetch(authorizationUrl, { redirect: 'manual' });
  expect(atProvider.status).toBe(302);
  const callbackUrl = atProvider.headers.get('location')!;
  expect(callbackUrl.startsWith(`${server.url}/auth/vcs/callback?`)).toBe(true);
  return { callbackUrl, response: await fetch(callbackUrl, { redirect: 'manual' }) };
}

describe('OAuth', () => {
  it('connects through the authorization code flow, and refuses the same state twice', async () => {
    const client = fake.registerClient();
    const created = await gql<Created>(createMutation, {
      input: {
        organizationId,
        name: 'github-oauth',
        type: 'GITHUB',
        url: fake.url,
        apiUrl: fake.url,
        authType: 'OAUTH',
        oauthClientId: client.clientId,
        oauthClientSecret: client.clientSecret,
      },
    });
    expect(created.errors).toBeUndefined();
    expect(created.text).not.toContain(client.clientSecret);
    const { vcsProvider, oauthAuthorizationUrl } = created.data!.createVCSProvider;
    expect(vcsProvider).toMatchObject({ connected: false, accountName: null, oauthClientId: client.clientId });
    const authorize = new URL(oauthAuthorizationUrl!);
    expect(`${authorize.origin}${authorize.pathname}`).toBe(`${fake.url}/login/oauth/authorize`);
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${server.url}/auth/vcs/callback`);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');

    fake.signInAs('mona');
    const { callbackUrl, response } = await authorizeInBrowser(oauthAuthorizationUrl!);
    const body = await response.text();
    expect(response.status, body).toBe(200);
    expect(JSON.parse(body)).toEqual({
      status: 'connected',
      vcsProvider: { id: vcsProvider.id, name: 'github-oauth', prn: `prn:vcs_provider:${organizationName}/github-oauth`, accountName: 'mona' },
    });
    expect(
      fake
        .requests()
        .filter((request) => request.path === '/login/oauth/access_token')
        .map((request) => request.grantType),
    ).toEqual(['authorization_code']);

    const read = await gql<{ node: Provider }>(`query($id: ID!) { node(id: $id) { ... on VCSProvider { ${providerFields} } } }`, { id: vcsProvider.id });
    expect(read.data!.node).toMatchObject({ connected: true, accountName: 'mona', metadata: { version: '2' } });
    expect(read.data!.node.tokenExpiresAt).not.toBeNull();
    const accessToken = await vcsAccessToken(db, config, idOf(vcsProvider.id));
    expect(accessToken).toMatch(/^ghu_/);
    expect(body).not.toContain(accessToken);
    expect(read.text).not.toContain(accessToken);
    const events = await server.database.query<{ action: string; initiator_kind: string; payload: unknown }>(
      'select action, initiator_kind, payload from activity_events where target_id = $1 order by created_at',
      [idOf(vcsProvider.id)],
    );
    expect(events.rows.map((row) => [row.action, row.initiator_kind])).toEqual([
      ['create', 'user'],
      ['connect', 'user'],
    ]);
    expect(JSON.stringify(events.rows)).not.toContain(accessToken);

    const replay = await fetch(callbackUrl);
    expect(replay.status).toBe(400);
    expect(await replay.json()).toMatchObject({ code: 'BAD_USER_INPUT', field: 'state' });
    expect(fake.requests().filter((request) => request.path === '/login/oauth/access_token')).toHaveLength(1);
  });

  it('refreshes an expired GitLab token before handing it out, storing the rotated pair', async () => {
    const client = fake.registerClient();
    const created = await gql<Created>(createMutation, {
      input: {
        organizationId,
        name: 'gitlab-oauth',
        type: 'GITLAB',
        url: fake.url,
        authType: 'OAUTH',
        oauthClientId: client.clientId,
        oauthClientSecret: client.clientSecret,
      },
    });
    const { vcsProvider, oauthAuthorizationUrl } = created.data!.createVCSProvider;
    expect(new URL(oauthAuthorizationUrl!).pathname).toBe('/oauth/authorize');
    fake.signInAs('gitlab-user');
    const { response } = await authorizeInBrowser(oauthAuthorizationUrl!);
    expect(response.status).toBe(200);
    const id = idOf(vcsProvider.id);
    const first = await vcsAccessToken(db, config, id);
    const tokenRequests = () =>
      fake
        .requests()
        .filter((request) => request.path === '/oauth/token')
        .map((request) => request.grantType);
    expect(tokenRequests()).toEqual(['authorization_code']);

    const before = await server.database.query<{ encrypted_refresh_token: string; version: number }>(
      'select encrypted_refresh_token, version from vcs_providers where id = $1',
      [id],
    );
    await server.database.query("update vcs_providers set access_token_expires_at = now() - interval '1 minute' where id = $1", [id]);
    const refreshed = await vcsAccessToken(db, config, id);
    expect(refreshed).not.toBe(first);
    expect(tokenRequests()).toEqual(['authorization_code', 'refresh_token']);
    const user = await fetch(`${fake.url}/api/v4/user`, { headers: { authorization: `Bearer ${refreshed}` } });
    expect(await user.json()).toMatchObject({ username: 'gitlab-user' });

    const after = await server.database.query<{ encrypted_refresh_token: string; access_token_expires_at: Date; version: number }>(
      'select encrypted_refresh_token, access_token_expires_at, version from vcs_providers where id = $1',
      [id],
    );
    expect(after.rows[0]!.encrypted_refresh_token).not.toBe(before.rows[0]!.encrypted_refresh_token);
    expect(after.rows[0]!.access_token_expires_at.getTime()).toBeGreaterThan(Date.now());
    // A refresh is no edit: the version a client holds stays good.
    expect(after.rows[0]!.version).toBe(before.rows[0]!.version);
    // Fresh now: handed out as stored, without asking the provider again.
    expect(await vcsAccessToken(db, config, id)).toBe(refreshed);
    expect(tokenRequests()).toHaveLength(2);
  });

  it('asks to reauthorize when the provider refuses the refresh token', async () => {
    const client = fake.registerClient();
    const created = await gql<Created>(createMutation, {
      input: {
        organizationId,
        name: 'revoked',
        type: 'GITLAB',
        url: fake.url,
        authType: 'OAUTH',
        oauthClientId: client.clientId,
        oauthClientSecret: client.clientSecret,
      },
    });
    const { vcsProvider, oauthAuthorizationUrl } = created.data!.createVCSProvider;
    expect((await authorizeInBrowser(oauthAuthorizationUrl!)).response.status).toBe(200);
    const id = idOf(vcsProvider.id);
    fake.revokeRefreshTokens();
    await server.database.query("update vcs_providers set access_token_expires_at = now() - interval '1 minute' where id = $1", [id]);
    await expect(vcsAccessToken(db, config, id)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('reauthorize it') });

    // Reauthorizing gives a new authorization URL, and a working connection again.
    const reauthorized = await gql<{ updateVCSProvider: { oauthAuthorizationUrl: string } }>(
      'mutation($input: UpdateVCSProviderInput!) { updateVCSProvider(input: $input) { oauthAuthorizationUrl } }',
      { input: { id: vcsProvider.id, reauthorize: true } },
    );
    expect((await authorizeInBrowser(reauthorized.data!.updateVCSProvider.oauthAuthorizationUrl)).response.status).toBe(200);
    expect(await vcsAccessToken(db, config, id)).toMatch(/^glo_/);
  });

  it('binds each sealed secret to its provider: one copied to another row does not open', async () => {
    const [github, gitlab] = (
      await server.database.query<{ id: string; encrypted_access_token: string }>(
        "select id, encrypted_access_token from vcs_providers where name in ('github-oauth', 'gitlab-oauth') order by name",
      )
    ).rows;
    await server.database.query('update vcs_providers set encrypted_access_token = $2 where id = $1', [gitlab!.id, github!.encrypted_access_token]);
    await expect(vcsAccessToken(db, config, gitlab!.id)).rejects.toThrow();
    await server.database.query('update vcs_providers set encrypted_access_token = $2 where id = $1', [gitlab!.id, gitlab!.encrypted_access_token]);
    expect(await vcsAccessToken(db, config, gitlab!.id)).toMatch(/^glo_/);
  });
});
