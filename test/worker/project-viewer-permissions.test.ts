// Project.viewerPermissions: what the console uses to hide the actions a member may not take. It
// follows the caller's role bindings (organization and project level add up), an admin holds them
// all, and a project the caller cannot see is not found rather than listed with no permissions.
// Project.templateMaxUploadBytes: the size limit the console checks before uploading HCL.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCaller } from '../../src/auth/caller';
import { organizationPermissions } from '../../src/auth/rbac';
import { addMember } from '../../src/domain/memberships/service';
import { createOrganization } from '../../src/domain/organizations/service';
import { createProject } from '../../src/domain/projects/service';
import { globalId, graphqlHarness, type GraphQLHarness, type Identity } from '../support/graphql';

let h: GraphQLHarness;
let projectId: string;
const people = {} as Record<'admin' | 'viewer' | 'developer' | 'projectReleaseManager' | 'outsider', Identity>;

const query = `query($id: ID!) { project(id: $id) { name viewerPermissions } }`;

async function permissionsOf(as: Identity): Promise<string[]> {
  const result = await h.gql<{ project: { viewerPermissions: string[] } }>(query, { id: projectId }, { as });
  expect(result.errors).toBeUndefined();
  return result.data!.project.viewerPermissions;
}

beforeAll(async () => {
  h = await graphqlHarness({ PHOBOS_TEMPLATE_MAX_UPLOAD_SIZE: '4096' });
  people.admin = await h.createUser({ admin: true });
  const admin = await loadCaller(h.db.http, {
    kind: 'user',
    userId: people.admin.id,
    username: people.admin.name,
    email: '',
    isAdmin: true,
    via: 'access_token',
  });
  const acme = await createOrganization(h.db.http, admin, { name: 'acme' });
  const web = await createProject(h.db.http, admin, { organizationId: acme.id, name: 'web' });
  projectId = globalId('Project', web.id);
  for (const name of ['viewer', 'developer', 'projectReleaseManager', 'outsider'] as const) people[name] = await h.createUser();
  await addMember(h.db.http, admin, { organizationId: acme.id, userId: people.viewer.id, role: 'viewer' });
  await addMember(h.db.http, admin, { organizationId: acme.id, userId: people.developer.id, role: 'developer' });
  // Viewer in the organization, release manager in this project only: the two add up here.
  await addMember(h.db.http, admin, { organizationId: acme.id, userId: people.projectReleaseManager.id, role: 'viewer' });
  await addMember(h.db.http, admin, { organizationId: acme.id, projectId: web.id, userId: people.projectReleaseManager.id, role: 'release_manager' });
});

describe('Project.viewerPermissions', () => {
  it('lists what a viewer may see and nothing it may not do', async () => {
    const permissions = await permissionsOf(people.viewer);
    expect(permissions).toContain('pipeline:view');
    expect(permissions).toContain('project:view');
    expect(permissions).not.toContain('pipeline:execute');
    expect(permissions).not.toContain('pipeline_template:manage');
    expect(permissions).not.toContain('release_lifecycle:manage');
  });

  it('gives a developer pipeline:execute and pipeline_template:manage, not release_lifecycle:manage', async () => {
    const permissions = await permissionsOf(people.developer);
    expect(permissions).toEqual(expect.arrayContaining(['pipeline:view', 'pipeline:execute', 'pipeline_template:manage']));
    expect(permissions).not.toContain('release_lifecycle:manage');
  });

  it("adds a project-level role to the organization's", async () => {
    const permissions = await permissionsOf(people.projectReleaseManager);
    expect(permissions).toEqual(expect.arrayContaining(['pipeline:execute', 'release_lifecycle:manage']));
  });

  it('gives a system administrator every permission', async () => {
    expect(await permissionsOf(people.admin)).toEqual([...organizationPermissions]);
  });

  it('does not show a project to someone outside it', async () => {
    const result = await h.gql(query, { id: projectId }, { as: people.outsider });
    expect(result.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(result.data?.project ?? null).toBeNull();
  });
});

describe('Project.templateMaxUploadBytes', () => {
  it('tells a member the configured template size limit', async () => {
    const result = await h.gql<{ project: { templateMaxUploadBytes: number } }>(
      `query($id: ID!) { project(id: $id) { templateMaxUploadBytes } }`,
      { id: projectId },
      { as: people.viewer },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!.project.templateMaxUploadBytes).toBe(4096);
  });
});
