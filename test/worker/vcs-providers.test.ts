// VCS providers through GraphQL and the OAuth callback, without a provider to talk to (OAuth
// providers are created without one; the flow against a fake GitHub and GitLab is in
// test/node/vcs-providers.test.ts): inheritance, tenancy, bad input, versions, the resource limit,
// the callback's refusals, and secrets kept out of every response and log line.
import { sql } from 'drizzle-orm';
import { env } from 'cloudflare:workers';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadCaller } from '../../src/auth/caller';
import type { Caller } from '../../src/auth/rbac';
import { addMember } from '../../src/domain/memberships/service';
import { createOrganization } from '../../src/domain/organizations/service';
import { createProject } from '../../src/domain/projects/service';
import { globalId, graphqlHarness, type GraphQLHarness, type GraphQLResult, type Identity } from '../support/graphql';

let h: GraphQLHarness;
let admin: Caller;
let owner: Identity;
let viewer: Identity;
let webDeveloper: Identity;
let outsider: Identity;
let acme: string;
let web: string;
let api: string;

beforeAll(async () => {
  // DEBUG: the access log too, so no log line at any level escapes the secrets check.
  h = await graphqlHarness({ DEBUG: 'true' });
  const adminIdentity = await h.createUser({ admin: true });
  admin = await loadCaller(h.db.http, { kind: 'user', userId: adminIdentity.id, username: adminIdentity.name, email: '', isAdmin: true, via: 'access_token' });
  [owner, viewer, webDeveloper, outsider] = await Promise.all([h.createUser(), h.createUser(), h.createUser(), h.createUser()]);
  const organization = await createOrganization(h.db.http, admin, { name: 'acme' });
  acme = organization.id;
  web = (await createProject(h.db.http, admin, { organizationId: acme, name: 'web' })).id;
  api = (await createProject(h.db.http, admin, { organizationId: acme, name: 'api' })).id;
  await addMember(h.db.http, admin, { organizationId: acme, userId: owner.id, role: 'owner' });
  await addMember(h.db.http, admin, { organizationId: acme, userId: viewer.id, role: 'viewer' });
  await addMember(h.db.http, admin, { organizationId: acme, projectId: web, userId: webDeveloper.id, role: 'developer' });
  const other = await createOrganization(h.db.http, admin, { name: 'other' });
  await addMember(h.db.http, admin, { organizationId: other.id, userId: outsider.id, role: 'owner' });
});

const fields = 'id name type url apiUrl authType oauthClientId accountName connected inherited metadata { version prn }';
const create = `mutation($input: CreateVCSProviderInput!) { createVCSProvider(input: $input) { vcsProvider { ${fields} } oauthAuthorizationUrl } }`;
const update = `mutation($input: UpdateVCSProviderInput!) { updateVCSProvider(input: $input) { vcsProvider { ${fields} } oauthAuthorizationUrl } }`;
const remove = `mutation($input: DeleteVCSProviderInput!) { deleteVCSProvider(input: $input) { vcsProvider { id name } } }`;

interface Provider {
  id: string;
  name: string;
  inherited: boolean;
  apiUrl: string;
  metadata: { version: string; prn: string };
}
type Created = { createVCSProvider: { vcsProvider: Provider; oauthAuthorizationUrl: string | null } };

let counter = 0;
const oauthInput = (place: Record<string, string>, overrides: Record<string, unknown> = {}) => ({
  ...place,
  name: `provider-${++counter}`,
  type: 'GITHUB',
  authType: 'OAUTH',
  oauthClientId: 'Iv1.client',
  oauthClientSecret: `client-secret-${crypto.randomUUID()}`,
  ...overrides,
});

async function createOAuth(as: Identity, place: Record<string, string>, overrides: Record<string, unknown> = {}) {
  const result = await h.gql<Created>(create, { input: oauthInput(place, overrides) }, { as });
  expect(result.errors).toBeUndefined();
  return result.data!.createVCSProvider;
}

const stateOf = (url: string) => new URL(url).searchParams.get('state')!;
const inAcme = () => ({ organizationId: globalId('Organization', acme) });
const inProject = (id: string) => ({ projectId: globalId('Project', id) });
const codeOf = (result: GraphQLResult<unknown>) => result.errors?.[0]?.extensions?.code;
const count = async (table: 'vcs_providers' | 'activity_events' | 'vcs_oauth_states') =>
  (await h.db.http.execute<{ count: number }>(sql`select count(*)::int as count from ${sql.identifier(table)}`)).rows[0]!.count;

describe('scopes and inheritance', () => {
  it("lists the organization's providers in every project (inherited), and a project's own in that project only", async () => {
    const github = await createOAuth(owner, inAcme(), { name: 'github' });
    const authorize = new URL(github.oauthAuthorizationUrl!);
    expect(`${authorize.origin}${authorize.pathname}`).toBe('https://github.com/login/oauth/authorize');
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${h.config.server.apiUrl}/auth/vcs/callback`);
    expect(github.vcsProvider).toMatchObject({ apiUrl: 'https://api.github.com', metadata: { prn: 'prn:vcs_provider:acme/github', version: '1' } });
    const gitlab = await createOAuth(owner, inProject(web), { name: 'gitlab', type: 'GITLAB', url: 'https://gitlab.example.com/' });
    expect(gitlab.vcsProvider).toMatchObject({ apiUrl: 'https://gitlab.example.com/api/v4', metadata: { prn: 'prn:vcs_provider:acme/web/gitlab' } });
    expect(new URL(gitlab.oauthAuthorizationUrl!).pathname).toBe('/oauth/authorize');

    const listed = (project: string, as: Identity) =>
      h.gql<{ project: { vcsProviders: Provider[] } }>(
        'query($id: ID!) { project(id: $id) { vcsProviders { name inherited } } }',
        { id: globalId('Project', project) },
        { as },
      );
    expect((await listed(web, webDeveloper)).data!.project.vcsProviders).toEqual([
      { name: 'github', inherited: true },
      { name: 'gitlab', inherited: false },
    ]);
    expect((await listed(api, viewer)).data!.project.vcsProviders).toEqual([{ name: 'github', inherited: true }]);
    const organizationList = await h.gql<{ organization: { vcsProviders: Provider[] } }>(
      '{ organization(name: "acme") { vcsProviders { name inherited } } }',
      {},
      { as: viewer },
    );
    expect(organizationList.data!.organization.vcsProviders).toEqual([{ name: 'github', inherited: false }]);
    // A role in one project shows the organization's providers through that project, not the organization's list.
    const fromProjectRole = await h.gql('{ organization(name: "acme") { vcsProviders { name } } }', {}, { as: webDeveloper });
    expect(codeOf(fromProjectRole)).toBe('FORBIDDEN');
    const node = await h.gql<{ node: Provider | null }>(
      'query($id: ID!) { node(id: $id) { ... on VCSProvider { name } } }',
      { id: gitlab.vcsProvider.id },
      { as: webDeveloper },
    );
    expect(node.data!.node).toEqual({ name: 'gitlab' });
  });

  it('lets only those who manage VCS providers change them; another tenant finds nothing', async () => {
    const { vcsProvider } = await createOAuth(owner, inAcme());
    const byViewer = await h.gql(update, { input: { id: vcsProvider.id, description: 'x' } }, { as: viewer });
    expect(codeOf(byViewer)).toBe('FORBIDDEN');
    const byDeveloper = await h.gql(create, { input: oauthInput(inProject(web)) }, { as: webDeveloper });
    expect(codeOf(byDeveloper)).toBe('FORBIDDEN');

    const node = await h.gql<{ node: unknown }>('query($id: ID!) { node(id: $id) { id } }', { id: vcsProvider.id }, { as: outsider });
    expect(node.data!.node).toBeNull();
    for (const [query, input] of [
      [update, { id: vcsProvider.id, description: 'mine now' }],
      [remove, { id: vcsProvider.id }],
      [create, oauthInput(inAcme())],
      [create, oauthInput(inProject(web))],
    ] as const) {
      const result = await h.gql(query, { input }, { as: outsider });
      expect(codeOf(result)).toBe('NOT_FOUND');
      expect(result.text).not.toContain('acme');
    }
    const list = await h.gql('query($id: ID!) { project(id: $id) { vcsProviders { id } } }', { id: globalId('Project', web) }, { as: outsider });
    expect(codeOf(list)).toBe('NOT_FOUND');
  });
});

describe('input', () => {
  it.each([
    ['name', { name: 'Not A Name' }],
    ['url', { url: 'http://gitlab.example.com' }],
    ['url', { url: 'https://user:password@gitlab.example.com' }],
    ['url', { url: 'https://gitlab.example.com/?x=1' }],
    ['apiUrl', { apiUrl: 'not a url' }],
    ['oauthClientSecret', { oauthClientSecret: '' }],
    ['oauthClientId', { oauthClientId: '' }],
    ['personalAccessToken', { personalAccessToken: 'ghp_x' }],
    ['oauthClientId', { authType: 'PERSONAL_ACCESS_TOKEN', personalAccessToken: 'ghp_x' }],
    ['personalAccessToken', { authType: 'PERSONAL_ACCESS_TOKEN', oauthClientId: undefined, oauthClientSecret: undefined }],
    ['organizationId', { projectId: 'web' }],
  ])('refuses a bad %s, naming it, and stores nothing', async (field, overrides) => {
    const [providers, events] = [await count('vcs_providers'), await count('activity_events')];
    // Both places at once (the project's id is known only once the world is set up).
    const both = 'projectId' in overrides ? { projectId: globalId('Project', web) } : {};
    const result = await h.gql(create, { input: oauthInput(inAcme(), { ...overrides, ...both }) }, { as: owner });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect([await count('vcs_providers'), await count('activity_events')]).toEqual([providers, events]);
  });

  it('refuses a project-scoped provider in a project that does not exist', async () => {
    const result = await h.gql(create, { input: oauthInput(inProject(crypto.randomUUID())) }, { as: owner });
    expect(codeOf(result)).toBe('NOT_FOUND');
  });
});

describe('changes', () => {
  it('renames with the version read, refuses a stale one and a taken name without an event, and deletes', async () => {
    const { vcsProvider } = await createOAuth(owner, inAcme(), { name: 'before' });
    const taken = await createOAuth(owner, inAcme());
    const renamed = await h.gql<{ updateVCSProvider: { vcsProvider: Provider; oauthAuthorizationUrl: string | null } }>(
      update,
      { input: { id: vcsProvider.id, metadata: { version: '1' }, name: 'after', description: 'the main one' } },
      { as: owner },
    );
    expect(renamed.errors).toBeUndefined();
    expect(renamed.data!.updateVCSProvider.vcsProvider.metadata).toEqual({ version: '2', prn: 'prn:vcs_provider:acme/after' });
    expect(renamed.data!.updateVCSProvider.oauthAuthorizationUrl).toBeNull();

    const events = await count('activity_events');
    const stale = await h.gql(update, { input: { id: vcsProvider.id, metadata: { version: '1' }, name: 'again' } }, { as: owner });
    expect(stale.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'metadata.version' });
    const clash = await h.gql(update, { input: { id: vcsProvider.id, name: taken.vcsProvider.name } }, { as: owner });
    expect(clash.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'name' });
    const duplicate = await h.gql(create, { input: oauthInput(inAcme(), { name: 'after' }) }, { as: owner });
    expect(duplicate.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'name' });
    const staleDelete = await h.gql(remove, { input: { id: vcsProvider.id, metadata: { version: '1' } } }, { as: owner });
    expect(staleDelete.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'metadata.version' });
    expect(await count('activity_events')).toBe(events);

    const deleted = await h.gql<{ deleteVCSProvider: { vcsProvider: Provider } }>(
      remove,
      { input: { id: vcsProvider.id, metadata: { version: '2' } } },
      { as: owner },
    );
    expect(deleted.data!.deleteVCSProvider.vcsProvider.name).toBe('after');
    const history = await h.db.http.execute<{ action: string; target_prn: string; payload: Record<string, unknown> }>(
      sql`select action, target_prn, payload from activity_events where target_id = ${atob(vcsProvider.id).split(':')[1]!} order by created_at`,
    );
    expect(history.rows).toEqual([
      { action: 'create', target_prn: 'prn:vcs_provider:acme/before', payload: expect.objectContaining({ name: 'before', authType: 'oauth', type: 'github' }) },
      { action: 'update', target_prn: 'prn:vcs_provider:acme/after', payload: { name: 'before', newName: 'after', description: 'the main one' } },
      { action: 'delete', target_prn: 'prn:vcs_provider:acme/after', payload: { name: 'after', type: 'github' } },
    ]);
  });

  it('refuses a create past ResourceLimitVCSProvidersPerOrganization, leaving no provider, event or pending authorization', async () => {
    const existing = await h.db.http.execute<{ count: number }>(sql`select count(*)::int as count from vcs_providers where organization_id = ${acme}`);
    await h.db.http.execute(sql`update resource_limits set value = ${existing.rows[0]!.count} where name = 'ResourceLimitVCSProvidersPerOrganization'`);
    try {
      const before = [await count('vcs_providers'), await count('activity_events'), await count('vcs_oauth_states')];
      // Projects count against their organization's limit.
      const refused = await h.gql(create, { input: oauthInput(inProject(api)) }, { as: owner });
      expect(codeOf(refused)).toBe('RESOURCE_LIMIT_EXCEEDED');
      expect([await count('vcs_providers'), await count('activity_events'), await count('vcs_oauth_states')]).toEqual(before);
    } finally {
      await h.db.http.execute(sql`update resource_limits set value = 100 where name = 'ResourceLimitVCSProvidersPerOrganization'`);
    }
  });
});

describe('the OAuth callback', () => {
  const callback = (params: Record<string, string>) => h.request(`/auth/vcs/callback?${new URLSearchParams(params)}`);
  it('refuses a missing, unknown or expired state, naming it', async () => {
    const { oauthAuthorizationUrl } = await createOAuth(owner, inAcme());
    await h.db.http.execute(sql`update vcs_oauth_states set expires_at = now() - interval '1 second'`);
    for (const params of [{ code: 'x' }, { state: 'made-up', code: 'x' }, { state: stateOf(oauthAuthorizationUrl!), code: 'x' }] as Record<string, string>[]) {
      const response = await callback(params);
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ code: 'BAD_USER_INPUT', field: 'state' });
    }
  });

  it('acts as whoever started the flow: one who lost the right to manage the provider finds nothing, and the state is spent', async () => {
    const manager = await h.createUser();
    const membership = await addMember(h.db.http, admin, { organizationId: acme, userId: manager.id, role: 'owner' });
    const { oauthAuthorizationUrl } = await createOAuth(manager, inAcme());
    await h.db.http.execute(sql`delete from memberships where id = ${membership.id}`);
    const refused = await callback({ state: stateOf(oauthAuthorizationUrl!), code: 'a-code' });
    expect(refused.status).toBe(404);
    const again = await callback({ state: stateOf(oauthAuthorizationUrl!), code: 'a-code' });
    expect(again.status).toBe(400);
  });

  it('reports a refusal at the provider, naming the parameter, and spends the state', async () => {
    const { vcsProvider, oauthAuthorizationUrl } = await createOAuth(owner, inProject(web));
    const denied = await callback({ state: stateOf(oauthAuthorizationUrl!), error: 'access_denied' });
    expect(denied.status).toBe(400);
    expect(await denied.json()).toMatchObject({ field: 'error', detail: expect.stringContaining('GitHub did not authorize the connection (access_denied)') });
    const replay = await callback({ state: stateOf(oauthAuthorizationUrl!), code: 'late-code' });
    expect(await replay.json()).toMatchObject({ field: 'state' });
    const reauthorized = await h.gql<{ updateVCSProvider: { oauthAuthorizationUrl: string } }>(
      update,
      { input: { id: vcsProvider.id, reauthorize: true } },
      { as: owner },
    );
    expect(stateOf(reauthorized.data!.updateVCSProvider.oauthAuthorizationUrl)).not.toBe(stateOf(oauthAuthorizationUrl!));
    const reauthorizeToken = await h.gql(update, { input: { id: vcsProvider.id, personalAccessToken: 'ghp_x' } }, { as: owner });
    expect(reauthorizeToken.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'personalAccessToken' });
  });
});

describe('secrets', () => {
  const lines: string[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
    lines.length = 0;
  });

  it('never appear in a response, the activity log or a log line', async () => {
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        lines.push(args.map(String).join(' '));
      });
    }
    const clientSecret = `client-secret-${crypto.randomUUID()}`;
    const rotatedSecret = `rotated-secret-${crypto.randomUUID()}`;
    const token = `ghp_${crypto.randomUUID().replaceAll('-', '')}`;
    const responses: string[] = [];

    const closedPort = (env as unknown as Record<string, string>).TEST_DATABASE_CLOSED_PORT;
    // At an address where nothing answers, so the callback's code exchange fails without leaving the machine.
    const created = await h.gql<Created>(
      create,
      { input: oauthInput(inAcme(), { oauthClientSecret: clientSecret, url: `http://127.0.0.1:${closedPort}` }) },
      { as: owner },
    );
    responses.push(created.text);
    const id = created.data!.createVCSProvider.vcsProvider.id;
    const rotated = await h.gql(update, { input: { id, oauthClientSecret: rotatedSecret } }, { as: owner });
    expect(rotated.errors).toBeUndefined();
    responses.push(rotated.text);
    // A token for a provider that does not answer: refused, and not repeated anywhere.
    const unreachable = await h.gql(
      create,
      {
        input: {
          ...inAcme(),
          name: 'unreachable',
          type: 'GITLAB',
          url: `http://127.0.0.1:${closedPort}`,
          authType: 'PERSONAL_ACCESS_TOKEN',
          personalAccessToken: token,
        },
      },
      { as: owner },
    );
    expect(unreachable.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'apiUrl' });
    responses.push(unreachable.text);
    const read = await h.gql(`query($id: ID!) { node(id: $id) { ... on VCSProvider { ${fields} tokenExpiresAt description } } }`, { id }, { as: owner });
    responses.push(read.text);
    const failedCallback = await h.request(
      `/auth/vcs/callback?${new URLSearchParams({ state: stateOf(created.data!.createVCSProvider.oauthAuthorizationUrl!), code: token })}`,
    );
    expect(failedCallback.status).toBe(503);
    responses.push(await failedCallback.text());

    const events = await h.db.http.execute(sql`select payload from activity_events where target_type = 'vcs_provider'`);
    const stored = await h.db.http.execute<{ encrypted_oauth_client_secret: string }>(
      sql`select encrypted_oauth_client_secret from vcs_providers where id = ${atob(id).split(':')[1]!}`,
    );
    expect(lines.length, 'the access log ran').toBeGreaterThan(0);
    for (const secret of [clientSecret, rotatedSecret, token]) {
      for (const text of [...responses, ...lines, JSON.stringify(events.rows), JSON.stringify(stored.rows)]) expect(text).not.toContain(secret);
    }
  });
});
