// Governance end to end, through GraphQL alone, against a real Worker (wrangler's dev server) and the
// fake GitHub of test/fakes/vcs.ts: a system administrator signs in with the built-in provider and
// sets up an organization — users (one with a password, one with a one-time link the user then
// uses), a team, organization and project roles (built-in and custom), environments with a
// protection rule and an approval rule, a VCS provider connected by token — then reads every step
// back in the activity log, and the people it set up sign in and see what their roles let them see.
// The steps depend on each other, so they run as one ordered scenario.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeVcs, type FakeVcs } from '../fakes/vcs';
import { CookieJar, formFields, signInWithPassword, startWorkerServer, type WorkerServer } from '../support/worker-server';

let server: WorkerServer;
let fake: FakeVcs;

// biome-ignore lint/suspicious/noExplicitAny: answers are read field by field; typing each operation's shape would restate the schema.
type Answer = any;

interface GqlError {
  message: string;
  extensions?: { code?: string; field?: string };
}

async function gql(token: string, query: string, variables: Record<string, unknown> = {}): Promise<{ data?: Answer; errors?: GqlError[]; text: string }> {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  return { ...(JSON.parse(text) as { data?: unknown; errors?: GqlError[] }), text };
}

/** The data of an operation that must succeed (its errors shown when it does not). */
async function ok(token: string, query: string, variables: Record<string, unknown> = {}): Promise<Answer> {
  const result = await gql(token, query, variables);
  expect(result.errors, `${query}\n${result.text}`).toBeUndefined();
  return result.data;
}

async function errorCode(token: string, query: string, variables: Record<string, unknown> = {}): Promise<string | undefined> {
  const result = await gql(token, query, variables);
  expect(result.data?.[Object.keys(result.data ?? {})[0] ?? ''] ?? null).toBeNull();
  return result.errors?.[0]?.extensions?.code;
}

interface LoggedStep {
  action: string;
  targetType: string;
  targetPrn: string | null;
}

const eventsQuery = `query($organizationId: ID, $initiatorId: ID, $after: String) {
  activityEvents(organizationId: $organizationId, initiatorId: $initiatorId, first: 100, after: $after) {
    totalCount
    edges { node { action targetType targetId targetPrn createdAt initiator { kind id name } organization { id } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

interface EventNode extends LoggedStep {
  targetId: string | null;
  createdAt: string;
  initiator: { kind: string; id: string | null; name: string };
  organization: { id: string } | null;
}

/** Every event matching the filter, newest first, all pages. */
async function allEvents(token: string, filter: { organizationId?: string; initiatorId?: string }): Promise<{ totalCount: number; events: EventNode[] }> {
  const events: EventNode[] = [];
  let after: string | undefined;
  let totalCount = 0;
  for (;;) {
    const { activityEvents } = await ok(token, eventsQuery, { ...filter, after });
    totalCount = activityEvents.totalCount;
    events.push(...activityEvents.edges.map((edge: { node: EventNode }) => edge.node));
    if (!activityEvents.pageInfo.hasNextPage) return { totalCount, events };
    after = activityEvents.pageInfo.endCursor;
  }
}

const stepOf = ({ action, targetType, targetPrn }: LoggedStep): LoggedStep => ({ action, targetType, targetPrn });

/** Uses a one-time set-password link as a browser would: open the page, post its form. */
async function setPasswordThroughLink(url: string, password: string): Promise<Response> {
  const jar = new CookieJar();
  const page = await fetch(url);
  expect(page.status).toBe(200);
  jar.store(page);
  return fetch(`${server.url}/oauth/set-password`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header(), origin: server.url },
    body: new URLSearchParams({ ...formFields(await page.text()), password, password_confirmation: password }),
  });
}

beforeAll(async () => {
  [server, fake] = await Promise.all([startWorkerServer(), startFakeVcs()]);
}, 90_000);

afterAll(async () => {
  await Promise.all([server?.stop(), fake?.close()]);
});

describe('an administrator governs an organization through GraphQL alone', () => {
  const alicePassword = 'alice-initial-password';
  const bobPassword = 'bob-chose-this-password';
  // What the administrator did, in order, as the activity log must tell it.
  const steps: (LoggedStep & { organizationScoped: boolean })[] = [];
  const ids: Record<string, string> = {};
  let adminToken = '';
  let setPasswordLinkUrl = '';

  it('sets up the organization step by step', async () => {
    adminToken = (await signInWithPassword(server, server.admin.email, server.admin.password)).access_token;
    const { me } = await ok(adminToken, 'query { me { ... on User { id username } } }');
    ids.admin = me.id;
    expect(me.username).toBe('admin');
    const step = (action: string, targetType: string, targetPrn: string, organizationScoped = true) =>
      steps.push({ action, targetType, targetPrn, organizationScoped });

    const { createOrganization } = await ok(
      adminToken,
      'mutation { createOrganization(input: { name: "acme", description: "Rockets" }) { organization { id metadata { prn } } } }',
    );
    ids.organization = createOrganization.organization.id;
    expect(createOrganization.organization.metadata.prn).toBe('prn:organization:acme');
    step('create', 'organization', 'prn:organization:acme');

    const { createProject } = await ok(
      adminToken,
      'mutation($input: CreateProjectInput!) { createProject(input: $input) { project { id metadata { prn } } } }',
      { input: { organizationId: ids.organization, name: 'launcher' } },
    );
    ids.project = createProject.project.id;
    expect(createProject.project.metadata.prn).toBe('prn:project:acme/launcher');
    step('create', 'project', 'prn:project:acme/launcher');

    const createUser = `mutation($input: CreateUserInput!) {
      createUser(input: $input) { user { id username localSignIn metadata { prn } } setPasswordLink { url expiresAt } }
    }`;
    const alice = (await ok(adminToken, createUser, { input: { username: 'alice', email: 'alice@acme.test', password: alicePassword } })).createUser;
    expect(alice.user).toMatchObject({ username: 'alice', localSignIn: true, metadata: { prn: 'prn:user:alice' } });
    expect(alice.setPasswordLink).toBeNull();
    ids.alice = alice.user.id;
    step('create', 'user', 'prn:user:alice', false);

    const bob = (await ok(adminToken, createUser, { input: { username: 'bob', email: 'bob@acme.test' } })).createUser;
    expect(bob.user).toMatchObject({ username: 'bob', localSignIn: false, metadata: { prn: 'prn:user:bob' } });
    expect(bob.setPasswordLink.url).toMatch(new RegExp(`^${server.url}/oauth/set-password\\?token=phs_[A-Za-z0-9_-]{43}$`));
    setPasswordLinkUrl = bob.setPasswordLink.url;
    ids.bob = bob.user.id;
    step('create', 'user', 'prn:user:bob', false);

    const { createTeam } = await ok(adminToken, 'mutation($input: CreateTeamInput!) { createTeam(input: $input) { team { id name metadata { prn } } } }', {
      input: { organizationId: ids.organization, name: 'release-crew', description: 'Ships launcher' },
    });
    ids.team = createTeam.team.id;
    expect(createTeam.team.metadata.prn).toBe('prn:team:acme/release-crew');
    step('create', 'team', 'prn:team:acme/release-crew');

    const { addTeamMember } = await ok(
      adminToken,
      'mutation($input: AddTeamMemberInput!) { addTeamMember(input: $input) { member { isMaintainer user { username } } team { metadata { prn } } } }',
      { input: { teamId: ids.team, userId: ids.bob } },
    );
    expect(addTeamMember.member).toEqual({ isMaintainer: false, user: { username: 'bob' } });
    step('add_member', 'team', 'prn:team:acme/release-crew');

    const addMember = `mutation($input: AddOrganizationMemberInput!) {
      addOrganizationMember(input: $input) { membership { id role inherited userId teamId projectId metadata { prn } } }
    }`;
    const aliceViewer = (await ok(adminToken, addMember, { input: { organizationId: ids.organization, userId: ids.alice, role: 'viewer' } }))
      .addOrganizationMember.membership;
    expect(aliceViewer).toMatchObject({ role: 'viewer', userId: ids.alice, projectId: null });
    step('add_member', 'membership', aliceViewer.metadata.prn);

    const teamDeveloper = (await ok(adminToken, addMember, { input: { organizationId: ids.organization, teamId: ids.team, role: 'developer' } }))
      .addOrganizationMember.membership;
    expect(teamDeveloper).toMatchObject({ role: 'developer', teamId: ids.team, projectId: null });
    step('add_member', 'membership', teamDeveloper.metadata.prn);

    const aliceReleaseManager = (
      await ok(adminToken, addMember, { input: { organizationId: ids.organization, projectId: ids.project, userId: ids.alice, role: 'release_manager' } })
    ).addOrganizationMember.membership;
    expect(aliceReleaseManager).toMatchObject({ role: 'release_manager', userId: ids.alice, projectId: ids.project });
    expect(aliceReleaseManager.metadata.prn).toMatch(/^prn:membership:acme\/launcher\/[0-9a-f-]{36}$/);
    step('add_member', 'membership', aliceReleaseManager.metadata.prn);

    const { availableRolePermissions } = await ok(adminToken, 'query { availableRolePermissions }');
    const auditorPermissions = ['organization:view', 'project:view', 'environment:view', 'environment:manage', 'activity:view'];
    expect(availableRolePermissions).toEqual(expect.arrayContaining(auditorPermissions));
    const { createRole } = await ok(
      adminToken,
      'mutation($input: CreateRoleInput!) { createRole(input: $input) { role { id name builtIn permissions metadata { prn } } } }',
      { input: { name: 'environment-keeper', description: 'Looks after environments', permissions: auditorPermissions } },
    );
    expect(createRole.role).toMatchObject({ name: 'environment-keeper', builtIn: false, metadata: { prn: 'prn:role:environment-keeper' } });
    expect([...createRole.role.permissions].sort()).toEqual([...auditorPermissions].sort());
    step('create', 'role', 'prn:role:environment-keeper', false);

    // Bob, a developer through his team, also keeps the project's environments.
    const bobKeeper = (
      await ok(adminToken, addMember, { input: { organizationId: ids.organization, projectId: ids.project, userId: ids.bob, role: 'environment-keeper' } })
    ).addOrganizationMember.membership;
    expect(bobKeeper).toMatchObject({ role: 'environment-keeper', userId: ids.bob, projectId: ids.project });
    step('add_member', 'membership', bobKeeper.metadata.prn);

    const createEnvironment =
      'mutation($input: CreateEnvironmentInput!) { createEnvironment(input: $input) { environment { id name metadata { prn version } } } }';
    for (const name of ['staging', 'production']) {
      const { environment } = (await ok(adminToken, createEnvironment, { input: { projectId: ids.project, name } })).createEnvironment;
      expect(environment.metadata.prn).toBe(`prn:environment:acme/launcher/${name}`);
      ids[name] = environment.id;
      step('create', 'environment', environment.metadata.prn);
    }

    const { createEnvironmentProtectionRule } = await ok(
      adminToken,
      `mutation($input: CreateEnvironmentProtectionRuleInput!) {
        createEnvironmentProtectionRule(input: $input) { environmentProtectionRule { id environmentPattern principals { userIds teams roles } metadata { prn } } }
      }`,
      { input: { projectId: ids.project, environmentPattern: 'prod*', principals: { teams: ['release-crew'], roles: ['release_manager'] } } },
    );
    const protection = createEnvironmentProtectionRule.environmentProtectionRule;
    expect(protection).toMatchObject({ environmentPattern: 'prod*', principals: { userIds: [], teams: ['release-crew'], roles: ['release_manager'] } });
    step('create', 'environment_protection_rule', protection.metadata.prn);

    const { createApprovalRule } = await ok(
      adminToken,
      `mutation($input: CreateApprovalRuleInput!) {
        createApprovalRule(input: $input) { approvalRule { id name approvalsRequired principals { userIds teams } metadata { prn } } }
      }`,
      { input: { organizationId: ids.organization, name: 'two-keys', approvalsRequired: 2, principals: { userIds: [ids.alice], teams: ['release-crew'] } } },
    );
    expect(createApprovalRule.approvalRule).toMatchObject({
      name: 'two-keys',
      approvalsRequired: 2,
      principals: { userIds: [ids.alice], teams: ['release-crew'] },
      metadata: { prn: 'prn:approval_rule:acme/two-keys' },
    });
    step('create', 'approval_rule', 'prn:approval_rule:acme/two-keys');

    const personalAccessToken = fake.personalAccessToken('github', 'acme-bot');
    const created = await gql(
      adminToken,
      `mutation($input: CreateVCSProviderInput!) {
        createVCSProvider(input: $input) { vcsProvider { id name accountName connected metadata { prn } } oauthAuthorizationUrl }
      }`,
      {
        input: {
          organizationId: ids.organization,
          name: 'github',
          type: 'GITHUB',
          url: fake.url,
          apiUrl: fake.url,
          authType: 'PERSONAL_ACCESS_TOKEN',
          personalAccessToken,
        },
      },
    );
    expect(created.errors).toBeUndefined();
    expect(created.data.createVCSProvider.vcsProvider).toMatchObject({
      accountName: 'acme-bot',
      connected: true,
      metadata: { prn: 'prn:vcs_provider:acme/github' },
    });
    expect(created.text).not.toContain(personalAccessToken);
    expect(
      fake
        .requests()
        .filter((request) => request.path === '/user')
        .map((request) => request.status),
    ).toEqual([200]);
    step('create', 'vcs_provider', 'prn:vcs_provider:acme/github');
  });

  it("reads every step back in the organization's activity log, newest first, the administrator as initiator", async () => {
    const { totalCount, events } = await allEvents(adminToken, { organizationId: ids.organization });
    const expected = steps.filter((step) => step.organizationScoped).map(stepOf);
    expect(totalCount).toBe(expected.length);
    expect(events.map(stepOf)).toEqual([...expected].reverse());
    for (const event of events) {
      expect(event.initiator).toEqual({ kind: 'user', id: ids.admin, name: 'admin' });
      expect(event.organization).toEqual({ id: ids.organization });
    }
    const times = events.map((event) => Date.parse(event.createdAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  it("leads from each event to its target: the target's id fetches it with node(id:) while it exists", async () => {
    const { events } = await allEvents(adminToken, { organizationId: ids.organization });
    // Memberships are not nodes: their ids are taken by updateMembership and removeOrganizationMember.
    const fetchable = events.filter((event) => event.targetType !== 'membership');
    const typenames: Record<string, string> = {
      organization: 'Organization',
      project: 'Project',
      team: 'Team',
      environment: 'Environment',
      environment_protection_rule: 'EnvironmentProtectionRule',
      approval_rule: 'ApprovalRule',
      vcs_provider: 'VCSProvider',
    };
    for (const event of fetchable) {
      expect(event.targetId, `${event.targetType} ${event.targetPrn}`).not.toBeNull();
      const { node } = await ok(adminToken, 'query($id: ID!) { node(id: $id) { __typename ... on Node { id } } }', { id: event.targetId });
      expect(node, `${event.targetType} ${event.targetPrn}`).toEqual({ __typename: typenames[event.targetType], id: event.targetId });
    }
    expect(new Set(fetchable.map((event) => event.targetType))).toEqual(new Set(Object.keys(typenames)));
  });

  it("finds users and roles, which belong to no organization, in the administrator's own log, in order among the rest", async () => {
    const { events } = await allEvents(adminToken, { initiatorId: ids.admin });
    // The administrator's sign-in from a new place comes first; every step follows, in order.
    const chronological = [...events].reverse().map(stepOf);
    expect(chronological[0]).toMatchObject({ action: 'sign_in', targetType: 'user', targetPrn: 'prn:user:admin' });
    expect(chronological.slice(1)).toEqual(steps.map(stepOf));
    const organizationOf = (event: EventNode) => event.organization?.id ?? null;
    expect(events.filter((event) => ['user', 'role'].includes(event.targetType)).map(organizationOf)).toEqual([null, null, null, null]);
  });

  it('lets the user with a one-time link choose a password and sign in with it', async () => {
    const done = await setPasswordThroughLink(setPasswordLinkUrl, bobPassword);
    expect(done.status).toBe(200);
    expect(await done.text()).toContain('bob');
    // Used once: the link is gone.
    expect((await fetch(setPasswordLinkUrl)).status).toBe(404);
    const bobToken = (await signInWithPassword(server, 'bob', bobPassword)).access_token;
    const { me } = await ok(bobToken, 'query { me { ... on User { id username localSignIn } } }');
    expect(me).toEqual({ id: ids.bob, username: 'bob', localSignIn: true });
    // Bob, acting through his link, set his own password; an installation event, as users are.
    const { events } = await allEvents(adminToken, { initiatorId: ids.bob });
    expect([...events].reverse().map(stepOf)).toEqual([
      { action: 'set_password', targetType: 'user', targetPrn: 'prn:user:bob' },
      { action: 'sign_in', targetType: 'user', targetPrn: 'prn:user:bob' },
    ]);
    expect(events.map((event) => event.organization)).toEqual([null, null]);
  });

  it('shows the viewer, raised to release manager in the project, what the roles allow and nothing more', async () => {
    const aliceToken = (await signInWithPassword(server, 'alice@acme.test', alicePassword)).access_token;

    const { project } = await ok(aliceToken, 'query($id: ID!) { project(id: $id) { memberships { role inherited userId teamId } } }', { id: ids.project });
    const mine = project.memberships.filter((membership: { userId: string | null }) => membership.userId === ids.alice);
    expect(mine).toEqual(
      expect.arrayContaining([
        { role: 'viewer', inherited: true, userId: ids.alice, teamId: null },
        { role: 'release_manager', inherited: false, userId: ids.alice, teamId: null },
      ]),
    );

    // The organization's log, as the administrator sees it (viewers hold activity:view)...
    const asAdmin = await allEvents(adminToken, { organizationId: ids.organization });
    const asAlice = await allEvents(aliceToken, { organizationId: ids.organization });
    expect(asAlice.events.map(stepOf)).toEqual(asAdmin.events.map(stepOf));
    // ...but not the installation's events (users, roles, others' sign-ins): only her own sign-in.
    const everything = await allEvents(aliceToken, {});
    expect(everything.events.filter((event) => event.organization === null).map(stepOf)).toEqual([
      { action: 'sign_in', targetType: 'user', targetPrn: 'prn:user:alice' },
    ]);

    // Reads: every user (to name them in rules) but only her own email, the approval rule by PRN,
    // the VCS provider without any secret, the environments.
    const seen = await ok(
      aliceToken,
      `query($project: ID!) {
        users(first: 10) { edges { node { username email } } }
        approvalRule(prn: "prn:approval_rule:acme/two-keys") { name approvalsRequired }
        organization(name: "acme") { vcsProviders { name accountName connected } teams(first: 10) { edges { node { name } } } }
        project(id: $project) { environments { name } environmentProtectionRules { environmentPattern principals { teams roles } } }
      }`,
      { project: ids.project },
    );
    expect(seen.users.edges.map((edge: { node: unknown }) => edge.node)).toEqual([
      { username: 'admin', email: null },
      { username: 'alice', email: 'alice@acme.test' },
      { username: 'bob', email: null },
    ]);
    expect(seen.approvalRule).toEqual({ name: 'two-keys', approvalsRequired: 2 });
    expect(seen.organization.vcsProviders).toEqual([{ name: 'github', accountName: 'acme-bot', connected: true }]);
    expect(seen.organization.teams.edges).toEqual([{ node: { name: 'release-crew' } }]);
    expect(seen.project.environments.map((environment: { name: string }) => environment.name).sort()).toEqual(['production', 'staging']);
    expect(seen.project.environmentProtectionRules).toEqual([
      { environmentPattern: 'prod*', principals: { teams: ['release-crew'], roles: ['release_manager'] } },
    ]);

    // Writes: only what release_manager grants, and only in the project.
    const environment = await ok(aliceToken, 'query($id: ID!) { node(id: $id) { ... on Environment { metadata { version } } } }', { id: ids.staging });
    const updated = await ok(aliceToken, 'mutation($input: UpdateEnvironmentInput!) { updateEnvironment(input: $input) { environment { description } } }', {
      input: { id: ids.staging, description: 'Pre-flight checks', metadata: { version: environment.node.metadata.version } },
    });
    expect(updated.updateEnvironment.environment.description).toBe('Pre-flight checks');
    expect(
      await errorCode(aliceToken, 'mutation($input: CreateTeamInput!) { createTeam(input: $input) { team { id } } }', {
        input: { organizationId: ids.organization, name: 'rogue' },
      }),
    ).toBe('FORBIDDEN');
    expect(
      await errorCode(aliceToken, 'mutation($input: CreateApprovalRuleInput!) { createApprovalRule(input: $input) { approvalRule { id } } }', {
        input: { organizationId: ids.organization, name: 'one-key', approvalsRequired: 1, principals: { userIds: [ids.alice] } },
      }),
    ).toBe('FORBIDDEN');
    expect(
      await errorCode(aliceToken, 'mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } } }', {
        input: { username: 'mallory', email: 'mallory@acme.test', password: 'mallory-password-1' },
      }),
    ).toBe('FORBIDDEN');
    expect(
      await errorCode(aliceToken, 'mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id } } }', {
        input: { organizationId: ids.organization, userId: ids.alice, role: 'owner' },
      }),
    ).toBe('FORBIDDEN');

    // Her one change is in the log, under her name; her refusals left nothing.
    const latest = (await allEvents(adminToken, { organizationId: ids.organization })).events[0]!;
    expect(latest).toMatchObject({ action: 'update', targetType: 'environment', targetPrn: 'prn:environment:acme/launcher/staging' });
    expect(latest.initiator).toEqual({ kind: 'user', id: ids.alice, name: 'alice' });
    expect((await allEvents(adminToken, { organizationId: ids.organization })).totalCount).toBe(asAdmin.totalCount + 1);
  });

  it('gives the custom role its permissions in the project: bob keeps environments as a developer cannot', async () => {
    const bobToken = (await signInWithPassword(server, 'bob', bobPassword)).access_token;
    const { roles } = await ok(bobToken, 'query { roles { name permissions } }');
    const permissionsOf = (name: string): string[] => roles.find((role: { name: string }) => role.name === name).permissions;
    expect(permissionsOf('developer')).not.toContain('environment:manage');
    expect(permissionsOf('environment-keeper')).toContain('environment:manage');
    const environment = await ok(bobToken, 'query($id: ID!) { node(id: $id) { ... on Environment { metadata { version } } } }', { id: ids.production });
    const updated = await ok(bobToken, 'mutation($input: UpdateEnvironmentInput!) { updateEnvironment(input: $input) { environment { description } } }', {
      input: { id: ids.production, description: 'Live', metadata: { version: environment.node.metadata.version } },
    });
    expect(updated.updateEnvironment.environment.description).toBe('Live');
    // The team's developer role and the custom role add up; neither manages approval rules.
    expect(
      await errorCode(bobToken, 'mutation($input: CreateApprovalRuleInput!) { createApprovalRule(input: $input) { approvalRule { id } } }', {
        input: { organizationId: ids.organization, name: 'bobs-rule', approvalsRequired: 1, principals: { userIds: [ids.bob] } },
      }),
    ).toBe('FORBIDDEN');
  });
});
