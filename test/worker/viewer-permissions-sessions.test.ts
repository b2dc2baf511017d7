// What the console asks the API so it can hide what the caller may not do, and the user's own
// sessions: Organization/Project.viewerPermissions (computed by the authorization code itself, so
// it agrees with what the API then allows), Organization.projects (only the projects the caller
// sees), and sessions / revokeSession (one's own only; never through a key narrowed to an
// organization; a revoked session's refresh token stops working at once).
import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { issueUserTokens } from '../../src/auth/access-tokens';
import { loadCaller } from '../../src/auth/caller';
import type { Caller } from '../../src/auth/rbac';
import { createSessionService } from '../../src/auth/sessions';
import { signingFor } from '../../src/auth/signing';
import { users as usersTable } from '../../src/db/schema';
import { createApiKey } from '../../src/domain/api-keys/service';
import { addMember } from '../../src/domain/memberships/service';
import { createOrganization } from '../../src/domain/organizations/service';
import { createProject } from '../../src/domain/projects/service';
import { databaseFor } from '../../src/runtime';
import { globalId, graphqlHarness, type GraphQLHarness, type Identity } from '../support/graphql';

let h: GraphQLHarness;
let admin: Caller;
let adminIdentity: Identity;
let counter = 0;
const unique = (prefix: string) => `${prefix}-${++counter}-${crypto.randomUUID().slice(0, 6)}`;
const errorCode = (result: { errors?: { extensions?: { code?: string } }[] }) => result.errors?.[0]?.extensions?.code;

beforeAll(async () => {
  h = await graphqlHarness();
  adminIdentity = await h.createUser({ admin: true });
  admin = await loadCaller(h.db.http, { kind: 'user', userId: adminIdentity.id, username: adminIdentity.name, email: '', isAdmin: true, via: 'access_token' });
});

async function newOrganization() {
  const organization = await createOrganization(h.db.http, admin, { name: unique('org') });
  const web = await createProject(h.db.http, admin, { organizationId: organization.id, name: 'web' });
  const api = await createProject(h.db.http, admin, { organizationId: organization.id, name: 'api' });
  return { ...organization, webId: web.id, apiId: api.id };
}

const permissionsQuery = `query($org: String!, $project: ID!) {
  organization(name: $org) { viewerPermissions projects { name } }
  project(id: $project) { viewerPermissions }
}`;

type Permissions = { organization: { viewerPermissions: string[]; projects: { name: string }[] }; project: { viewerPermissions: string[] } };

describe('viewerPermissions and Organization.projects', () => {
  it('match what each role may do, and hold nothing beyond it', async () => {
    const org = await newOrganization();
    const owner = await h.createUser();
    const viewer = await h.createUser();
    const projectDeveloper = await h.createUser();
    await addMember(h.db.http, admin, { organizationId: org.id, userId: owner.id, role: 'owner' });
    await addMember(h.db.http, admin, { organizationId: org.id, userId: viewer.id, role: 'viewer' });
    await addMember(h.db.http, admin, { organizationId: org.id, projectId: org.webId, userId: projectDeveloper.id, role: 'developer' });
    const ask = (as: Identity) => h.gql<Permissions>(permissionsQuery, { org: org.name, project: globalId('Project', org.webId) }, { as });

    const asOwner = await ask(owner);
    expect(asOwner.errors).toBeUndefined();
    expect(asOwner.data!.organization.viewerPermissions).toEqual(expect.arrayContaining(['project:create', 'membership:manage', 'vcs_provider:manage']));
    expect(asOwner.data!.organization.projects.map((project) => project.name)).toEqual(['api', 'web']);

    const asViewer = (await ask(viewer)).data!;
    expect(asViewer.organization.viewerPermissions).toContain('membership:view');
    expect(asViewer.organization.viewerPermissions.filter((permission) => !permission.endsWith(':view'))).toEqual([]);
    expect(asViewer.project.viewerPermissions).not.toContain('environment:manage');

    // A project-only developer sees the organization (its name) and that project alone: no
    // organization-level permission beyond seeing it, a developer's in the project.
    const asProjectDeveloper = (await ask(projectDeveloper)).data!;
    expect(asProjectDeveloper.organization.viewerPermissions).toEqual(['organization:view']);
    expect(asProjectDeveloper.organization.projects.map((project) => project.name)).toEqual(['web']);
    expect(asProjectDeveloper.project.viewerPermissions).toEqual(expect.arrayContaining(['project:view', 'pipeline:execute', 'project:update']));
    expect(asProjectDeveloper.project.viewerPermissions).not.toContain('environment:manage');

    // What viewerPermissions leaves out, the API refuses: the viewer creating a project.
    const refused = await h.gql(
      'mutation($input: CreateProjectInput!) { createProject(input: $input) { project { id } } }',
      { input: { organizationId: globalId('Organization', org.id), name: 'nope' } },
      { as: viewer },
    );
    expect(errorCode(refused)).toBe('FORBIDDEN');
  });

  it('are every permission for a system admin, and nothing is shown to an outsider', async () => {
    const org = await newOrganization();
    const asAdmin = await h.gql<Permissions>(permissionsQuery, { org: org.name, project: globalId('Project', org.apiId) }, { as: adminIdentity });
    expect(asAdmin.data!.organization.viewerPermissions).toContain('organization:delete');
    expect(asAdmin.data!.project.viewerPermissions).toContain('project:delete');
    const outsider = await h.createUser();
    const asOutsider = await h.gql<Permissions>(permissionsQuery, { org: org.name, project: globalId('Project', org.apiId) }, { as: outsider });
    expect(errorCode(asOutsider)).toBe('NOT_FOUND');
  });

  it("narrow to a scoped key's organization", async () => {
    const org = await newOrganization();
    const other = await newOrganization();
    const key = await createApiKey(h.db.http, admin, { name: unique('key'), organizationId: org.id });
    const headers = { 'x-api-key': key.secret };
    const inScope = await h.gql<Permissions>(permissionsQuery, { org: org.name, project: globalId('Project', org.webId) }, { headers });
    expect(inScope.data!.organization.viewerPermissions).toContain('organization:delete');
    const outside = await h.gql<Permissions>(permissionsQuery, { org: other.name, project: globalId('Project', other.webId) }, { headers });
    expect(errorCode(outside)).toBe('NOT_FOUND');
  });
});

type SessionRow = { id: string; clientId: string; current: boolean; revokedAt: string | null; lastRefreshedAt: string };

describe('sessions and revokeSession', () => {
  async function signIn(identity: Identity) {
    const [user] = await h.db.http.select().from(usersTable).where(eq(usersTable.id, identity.id));
    const sessions = createSessionService(h.db.http, h.config.userSessions);
    const session = await sessions.open(user!, 'phobos');
    const { signer } = signingFor(h.config, databaseFor(h.config));
    const { accessToken } = await issueUserTokens(signer, h.config, user!, { sessionId: session.sessionId });
    return { ...session, as: { ...identity, accessToken }, sessions };
  }
  const list = (as: Identity) => h.gql<{ sessions: SessionRow[] }>('{ sessions { id clientId current revokedAt lastRefreshedAt } }', {}, { as });
  const revoke = (as: Identity, id: string) =>
    h.gql<{ revokeSession: { session: SessionRow } }>(
      'mutation($id: ID!) { revokeSession(input: { id: $id }) { session { id revokedAt current } } }',
      { id },
      { as },
    );

  it('lists your live sessions, marks the current one, and ends another at once', async () => {
    const user = await h.createUser();
    const first = await signIn(user);
    const second = await signIn(user);
    const listed = await list(second.as);
    expect(listed.errors).toBeUndefined();
    expect(listed.data!.sessions.map((session) => session.current)).toEqual([true, false]);
    expect(listed.data!.sessions[0]!.clientId).toBe('phobos');
    const firstId = listed.data!.sessions[1]!.id;

    const revoked = await revoke(second.as, firstId);
    expect(revoked.errors).toBeUndefined();
    expect(revoked.data!.revokeSession.session.revokedAt).not.toBeNull();
    expect((await first.sessions.refresh(first.refreshToken)).ok).toBe(false);
    expect((await list(second.as)).data!.sessions.map((session) => session.id)).toHaveLength(1);
    // Revoking it again changes nothing and is no error.
    expect((await revoke(second.as, firstId)).errors).toBeUndefined();
  });

  it("does not find someone else's session, nor a malformed id, and refuses service accounts and scoped keys", async () => {
    const user = await h.createUser();
    const stranger = await h.createUser();
    const mine = await signIn(user);
    const id = (await list(mine.as)).data!.sessions[0]!.id;
    expect(errorCode(await revoke(stranger, id))).toBe('NOT_FOUND');
    expect(errorCode(await revoke(mine.as, globalId('UserSession', crypto.randomUUID())))).toBe('NOT_FOUND');
    for (const malformed of [globalId('UserSession', 'not-a-uuid'), 'garbage']) {
      const result = await revoke(mine.as, malformed);
      expect(result.status).toBe(200);
      expect(errorCode(result)).toBe('BAD_USER_INPUT');
    }
    expect((await mine.sessions.refresh(mine.refreshToken)).ok).toBe(true);

    const account = await h.createServiceAccount();
    expect(errorCode(await list(account))).toBe('FORBIDDEN');
    const org = await newOrganization();
    const owner = await loadCaller(h.db.http, { kind: 'user', userId: user.id, username: user.name, email: '', isAdmin: false, via: 'access_token' });
    await addMember(h.db.http, admin, { organizationId: org.id, userId: user.id, role: 'owner' });
    const key = await createApiKey(h.db.http, await loadCaller(h.db.http, owner.principal), { name: unique('key'), organizationId: org.id });
    const scoped = await h.gql('{ sessions { id } }', {}, { headers: { 'x-api-key': key.secret } });
    expect(errorCode(scoped)).toBe('FORBIDDEN');
  });
});
