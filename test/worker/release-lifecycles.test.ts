// Release lifecycles over GraphQL against the real app, database and R2 binding: organization- and
// project-level versions uploaded and read back (body, checksum, stages, environments, PRN), the
// lists of an organization and of a project (which includes its organization's), the latest flag,
// immutable versions, the size limit (413, nothing stored), lifecycle problems and unknown approval
// rules at their line and column, who may manage and read them, other tenants, and deletion.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCaller } from '../../src/auth/caller';
import type { Caller } from '../../src/auth/rbac';
import { createApprovalRule } from '../../src/domain/approval-rules/service';
import { releaseLifecycleForProject } from '../../src/domain/lifecycles/service';
import { addMember } from '../../src/domain/memberships/service';
import { createOrganization } from '../../src/domain/organizations/service';
import { createProject } from '../../src/domain/projects/service';
import { globalId, graphqlHarness, type GraphQLHarness, type GraphQLResult, type Identity } from '../support/graphql';

const maxUploadSize = 4096;

interface LifecycleResult {
  id: string;
  name: string;
  scope: string;
  versioned: boolean;
  semanticVersion: string | null;
  latest: boolean;
  sha256Checksum: string;
  sizeBytes: number;
  hclData: string;
  stages: {
    name: string;
    pre: { approvalRules: string[]; tasks: string[] };
    deployments: { environment: string; approvalRules: string[] }[];
    post: { approvalRules: string[]; tasks: string[] };
  }[];
  variables: { name: string; type: string; defaultValue: string | null }[];
  environmentNames: string[];
  organization: { id: string };
  project: { id: string } | null;
  metadata: { prn: string };
}

const fields = `id name scope versioned semanticVersion latest sha256Checksum sizeBytes hclData
  stages { name pre { approvalRules tasks } deployments { environment approvalRules } post { approvalRules tasks } }
  variables { name type defaultValue } environmentNames organization { id } project { id } metadata { prn }`;
const createMutation = `mutation($input: CreateReleaseLifecycleInput!) { createReleaseLifecycle(input: $input) { releaseLifecycle { ${fields} } } }`;
const deleteMutation = 'mutation($input: DeleteReleaseLifecycleInput!) { deleteReleaseLifecycle(input: $input) { releaseLifecycle { id } } }';
const byIdQuery = `query($id: ID!) { releaseLifecycle(id: $id) { ${fields} } }`;

const lifecycle = `variable "region" {
  type    = string
  default = "eu-west-1"
}

stage "dev" {
  deployment {
    environment = "dev-1"
  }
}

stage "prod" {
  pre {
    task "smoke_check" {
      interval          = "2m"
      attempts          = 3
      success_condition = "action_outputs.stage.prod.pre.task.smoke_check.action.probe.success == true"
      action "exec_command" {
        alias   = "probe"
        command = "curl -fsS https://staging.example.com/healthz"
      }
    }
  }
  deployment {
    environment    = "prod-1"
    approval_rules = ["prn:approval_rule:lcorg/admins"]
  }
  post {
    task "announce" {
      action "exec_command" {
        command = "echo released"
      }
    }
  }
}
`;

let h: GraphQLHarness;
let adminCaller: Caller;
let owner: Identity;
let releaseManager: Identity;
let developer: Identity;
let viewer: Identity;
let projectMember: Identity;
let outsider: Identity;
let organizationId: string;
let organizationGid: string;
let projectId: string;
let projectGid: string;
let otherProjectId: string;

const codes = (result: GraphQLResult<unknown>) => result.errors?.map((error) => error.extensions?.code);
const decode = (gid: string) => atob(gid).split(':')[1]!;

function create(input: Record<string, unknown>, as: Identity = releaseManager) {
  return h.gql<{ createReleaseLifecycle: { releaseLifecycle: LifecycleResult } }>(
    createMutation,
    { input: { organizationId: organizationGid, versioned: true, hclData: lifecycle, ...input } },
    { as },
  );
}

async function created(input: Record<string, unknown>, as: Identity = releaseManager): Promise<LifecycleResult> {
  const result = await create(input, as);
  expect(result.errors).toBeUndefined();
  return result.data!.createReleaseLifecycle.releaseLifecycle;
}

async function storedObjects(): Promise<string[]> {
  const listed = await (h.env.OBJECTS as R2Bucket).list({ prefix: `release-lifecycles/${organizationId}/` });
  return listed.objects.map((object) => object.key);
}

async function rowCount(name: string): Promise<number> {
  return (await h.db.http.execute<{ count: number }>(sql`select count(*)::int as count from release_lifecycles where name = ${name}`)).rows[0]!.count;
}

async function sha256(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

beforeAll(async () => {
  h = await graphqlHarness({ PHOBOS_TEMPLATE_MAX_UPLOAD_SIZE: String(maxUploadSize) });
  const admin = await h.createUser({ admin: true });
  owner = await h.createUser();
  releaseManager = await h.createUser();
  developer = await h.createUser();
  viewer = await h.createUser();
  projectMember = await h.createUser();
  outsider = await h.createUser();
  adminCaller = await loadCaller(h.db.http, { kind: 'user', userId: admin.id, username: admin.name, email: '', isAdmin: true, via: 'access_token' });
  const organization = await createOrganization(h.db.http, adminCaller, { name: 'lcorg' });
  organizationId = organization.id;
  organizationGid = globalId('Organization', organization.id);
  const project = await createProject(h.db.http, adminCaller, { organizationId, name: 'web' });
  projectId = project.id;
  projectGid = globalId('Project', project.id);
  otherProjectId = (await createProject(h.db.http, adminCaller, { organizationId, name: 'api' })).id;
  await addMember(h.db.http, adminCaller, { organizationId, userId: owner.id, role: 'owner' });
  await addMember(h.db.http, adminCaller, { organizationId, userId: releaseManager.id, role: 'release_manager' });
  await addMember(h.db.http, adminCaller, { organizationId, userId: developer.id, role: 'developer' });
  await addMember(h.db.http, adminCaller, { organizationId, userId: viewer.id, role: 'viewer' });
  await addMember(h.db.http, adminCaller, { organizationId, projectId, userId: projectMember.id, role: 'release_manager' });
  await createApprovalRule(h.db.http, adminCaller, { organizationId, name: 'admins', approvalsRequired: 1, principals: { userIds: [owner.id] } });
  const other = await createOrganization(h.db.http, adminCaller, { name: 'lcother' });
  await addMember(h.db.http, adminCaller, { organizationId: other.id, userId: outsider.id, role: 'owner' });
  await createApprovalRule(h.db.http, adminCaller, { organizationId: other.id, name: 'admins', approvalsRequired: 1, principals: { userIds: [outsider.id] } });
});

describe('release lifecycles: upload and read back', () => {
  let organizationLevel: LifecycleResult;
  let projectLevel: LifecycleResult;

  it('stores an organization-level version: body, checksum, size, stages, environments, PRN, and an activity event', async () => {
    organizationLevel = await created({ name: 'standard', semanticVersion: '1.0.0' });
    expect(organizationLevel).toMatchObject({
      name: 'standard',
      scope: 'ORGANIZATION',
      versioned: true,
      semanticVersion: '1.0.0',
      latest: true,
      hclData: lifecycle,
      sha256Checksum: await sha256(lifecycle),
      sizeBytes: new TextEncoder().encode(lifecycle).byteLength,
      organization: { id: organizationGid },
      project: null,
      metadata: { prn: 'prn:release_lifecycle:lcorg/standard/1.0.0' },
      environmentNames: ['dev-1', 'prod-1'],
      variables: [{ name: 'region', type: 'string', defaultValue: '"eu-west-1"' }],
    });
    expect(organizationLevel.stages).toEqual([
      {
        name: 'dev',
        pre: { approvalRules: [], tasks: [] },
        deployments: [{ environment: 'dev-1', approvalRules: [] }],
        post: { approvalRules: [], tasks: [] },
      },
      {
        name: 'prod',
        pre: { approvalRules: [], tasks: ['smoke_check'] },
        deployments: [{ environment: 'prod-1', approvalRules: ['prn:approval_rule:lcorg/admins'] }],
        post: { approvalRules: [], tasks: ['announce'] },
      },
    ]);
    const events = await h.db.http.execute<{ action: string; target_type: string; project_id: string | null }>(
      sql`select action, target_type, project_id from activity_events where target_prn = 'prn:release_lifecycle:lcorg/standard/1.0.0'`,
    );
    expect(events.rows).toEqual([{ action: 'create', target_type: 'release_lifecycle', project_id: null }]);
    // The body is in the object store, under a key that does not name the lifecycle; the compiled model beside the row.
    const [row] = (
      await h.db.http.execute<{ object_key: string; compiled: { environmentNames: string[] } }>(
        sql`select object_key, compiled from release_lifecycles where id = ${decode(organizationLevel.id)}`,
      )
    ).rows;
    expect(row!.object_key).not.toContain('standard');
    expect(row!.compiled.environmentNames).toEqual(['dev-1', 'prod-1']);
    expect(await (await (h.env.OBJECTS as R2Bucket).get(row!.object_key))!.text()).toBe(lifecycle);
  });

  it('stores a project-level version of the same name in its own namespace', async () => {
    projectLevel = await created({ organizationId: undefined, projectId: projectGid, name: 'standard', semanticVersion: '1.0.0' }, projectMember);
    expect(projectLevel).toMatchObject({
      scope: 'PROJECT',
      latest: true,
      project: { id: projectGid },
      organization: { id: organizationGid },
      metadata: { prn: 'prn:release_lifecycle:lcorg/web/standard/1.0.0' },
    });
    const events = await h.db.http.execute<{ project_id: string }>(
      sql`select project_id from activity_events where target_prn = 'prn:release_lifecycle:lcorg/web/standard/1.0.0'`,
    );
    expect(events.rows).toEqual([{ project_id: projectId }]);
  });

  it('reads versions back by global id and by PRN, for whoever may view them', async () => {
    const byId = await h.gql<{ releaseLifecycle: LifecycleResult }>(byIdQuery, { id: organizationLevel.id }, { as: viewer });
    expect(byId.errors).toBeUndefined();
    expect(byId.data!.releaseLifecycle).toEqual(organizationLevel);
    for (const [prn, id] of [
      ['prn:release_lifecycle:lcorg/standard/1.0.0', organizationLevel.id],
      ['prn:release_lifecycle:lcorg/web/standard/1.0.0', projectLevel.id],
    ] as const) {
      const byPrn = await h.gql<{ releaseLifecycle: LifecycleResult }>(byIdQuery, { id: prn }, { as: viewer });
      expect(byPrn.data!.releaseLifecycle.id).toBe(id);
    }
    const unknown = await h.gql(byIdQuery, { id: 'prn:release_lifecycle:lcorg/standard/9.9.9' }, { as: viewer });
    expect(codes(unknown)).toEqual(['NOT_FOUND']);
  });

  it("lists an organization's own lifecycles, or with its projects'; a project's with its organization's", async () => {
    const organizationList = async (args: string, as: Identity = viewer) =>
      h.gql<{ organization: { releaseLifecycles: { totalCount: number; edges: { node: { metadata: { prn: string } } }[] } } }>(
        `query($name: String!) { organization(name: $name) { releaseLifecycles${args} { totalCount edges { node { metadata { prn } } } } } }`,
        { name: 'lcorg' },
        { as },
      );
    const prns = (result: Awaited<ReturnType<typeof organizationList>>) => {
      expect(result.errors).toBeUndefined();
      return result.data!.organization.releaseLifecycles.edges.map((edge) => edge.node.metadata.prn);
    };
    expect(prns(await organizationList(''))).toEqual(['prn:release_lifecycle:lcorg/standard/1.0.0']);
    expect(prns(await organizationList('(includeProjects: true)'))).toEqual([
      'prn:release_lifecycle:lcorg/web/standard/1.0.0',
      'prn:release_lifecycle:lcorg/standard/1.0.0',
    ]);
    const projectList = await h.gql<{ project: { releaseLifecycles: { edges: { node: { metadata: { prn: string }; scope: string } }[] } } }>(
      'query($id: ID!) { project(id: $id) { releaseLifecycles(sort: CREATED_AT_ASC) { edges { node { scope metadata { prn } } } } } }',
      { id: projectGid },
      { as: projectMember },
    );
    expect(projectList.errors).toBeUndefined();
    expect(projectList.data!.project.releaseLifecycles.edges.map((edge) => [edge.node.scope, edge.node.metadata.prn])).toEqual([
      ['ORGANIZATION', 'prn:release_lifecycle:lcorg/standard/1.0.0'],
      ['PROJECT', 'prn:release_lifecycle:lcorg/web/standard/1.0.0'],
    ]);
    // A member of one project only does not read the organization's list itself.
    expect(codes(await organizationList('', projectMember))).toEqual(['FORBIDDEN']);
  });

  it("gives a project the compiled model of its own and its organization's lifecycles, not another project's", async () => {
    const memberCaller = await loadCaller(h.db.http, {
      kind: 'user',
      userId: projectMember.id,
      username: projectMember.name,
      email: '',
      isAdmin: false,
      via: 'access_token',
    });
    const fromOrganization = await releaseLifecycleForProject(h.db.http, memberCaller, projectId, decode(organizationLevel.id));
    expect(fromOrganization.compiled.stages.map((stage) => stage.name)).toEqual(['dev', 'prod']);
    expect(fromOrganization.compiled.stages[1]!.pre.tasks[0]!.gate).toMatchObject({ intervalSeconds: 120, attempts: 3 });
    expect((await releaseLifecycleForProject(h.db.http, memberCaller, projectId, decode(projectLevel.id))).prn).toBe(
      'prn:release_lifecycle:lcorg/web/standard/1.0.0',
    );
    await expect(releaseLifecycleForProject(h.db.http, adminCaller, otherProjectId, decode(projectLevel.id))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('is not visible to another tenant, who cannot create in the organization either', async () => {
    const result = await h.gql(byIdQuery, { id: organizationLevel.id }, { as: outsider });
    expect(codes(result)).toEqual(['NOT_FOUND']);
    const node = await h.gql<{ node: { id: string } | null }>('query($id: ID!) { node(id: $id) { id } }', { id: projectLevel.id }, { as: outsider });
    expect(node.data!.node).toBeNull();
    expect(codes(await create({ name: 'intruder', semanticVersion: '1.0.0' }, outsider))).toEqual(['NOT_FOUND']);
    expect(await rowCount('intruder')).toBe(0);
  });

  it('refuses viewers and developers (release_lifecycle:manage), storing nothing', async () => {
    const before = await storedObjects();
    expect(codes(await create({ name: 'by-viewer', semanticVersion: '1.0.0' }, viewer))).toEqual(['FORBIDDEN']);
    expect(codes(await create({ name: 'by-viewer', semanticVersion: '1.0.0', organizationId: undefined, projectId: projectGid }, developer))).toEqual([
      'FORBIDDEN',
    ]);
    expect(codes(await h.gql(deleteMutation, { input: { id: organizationLevel.id } }, { as: developer }))).toEqual(['FORBIDDEN']);
    // A release manager of one project manages that project's lifecycles, not the organization's.
    expect(codes(await create({ name: 'by-viewer', semanticVersion: '1.0.0' }, projectMember))).toEqual(['FORBIDDEN']);
    expect(await rowCount('by-viewer')).toBe(0);
    expect(await storedObjects()).toEqual(before);
  });

  it('refuses a version that exists (versions are immutable) and stores nothing more', async () => {
    const before = await storedObjects();
    const result = await create({ name: 'standard', semanticVersion: '1.0.0' }, owner);
    expect(codes(result)).toEqual(['CONFLICT']);
    expect(result.errors![0]!.extensions!.field).toBe('semanticVersion');
    expect(await storedObjects()).toEqual(before);
    expect(await rowCount('standard')).toBe(2);
  });

  it('marks the highest semantic version latest, whatever the upload order, and moves it back on delete', async () => {
    const versions: Record<string, LifecycleResult> = {};
    for (const version of ['1.2.0', '2.0.0', '1.10.0']) versions[version] = await created({ name: 'ranked', semanticVersion: version });
    const latest = async () =>
      (
        await h.db.http.execute<{ semantic_version: string }>(
          sql`select semantic_version from release_lifecycles where name = 'ranked' and latest order by semantic_version`,
        )
      ).rows.map((row) => row.semantic_version);
    expect(await latest()).toEqual(['2.0.0']);
    const deleted = await h.gql(deleteMutation, { input: { id: 'prn:release_lifecycle:lcorg/ranked/2.0.0' } }, { as: releaseManager });
    expect(deleted.errors).toBeUndefined();
    expect(await latest()).toEqual(['1.10.0']);
    // The project's lifecycle of the same name is in another namespace: still latest.
    expect((await h.gql<{ releaseLifecycle: LifecycleResult }>(byIdQuery, { id: projectLevel.id }, { as: viewer })).data!.releaseLifecycle.latest).toBe(true);
  });

  it('deletes the body with the row, and records the deletion', async () => {
    const doomed = await created({ name: 'short-lived', semanticVersion: '1.0.0' });
    const [row] = (await h.db.http.execute<{ object_key: string }>(sql`select object_key from release_lifecycles where id = ${decode(doomed.id)}`)).rows;
    const result = await h.gql(deleteMutation, { input: { id: doomed.id } }, { as: owner });
    expect(result.errors).toBeUndefined();
    expect(await rowCount('short-lived')).toBe(0);
    expect(await (h.env.OBJECTS as R2Bucket).head(row!.object_key)).toBeNull();
    const events = await h.db.http.execute<{ action: string }>(
      sql`select action from activity_events where target_prn = 'prn:release_lifecycle:lcorg/short-lived/1.0.0' order by created_at`,
    );
    expect(events.rows.map((event) => event.action)).toEqual(['create', 'delete']);
    expect(codes(await h.gql(deleteMutation, { input: { id: doomed.id } }, { as: owner }))).toEqual(['NOT_FOUND']);
  });

  it('refuses to delete a version that rows elsewhere still reference (releases), deleting nothing', async () => {
    const used = await created({ name: 'in-use', semanticVersion: '1.0.0' });
    const id = decode(used.id);
    // Stands in for the releases table, whose rows will reference the lifecycle they follow.
    await h.db.http.execute(sql`create table lifecycle_users (lifecycle_id uuid not null references release_lifecycles (id))`);
    try {
      await h.db.http.execute(sql`insert into lifecycle_users (lifecycle_id) values (${id})`);
      const result = await h.gql(deleteMutation, { input: { id: 'prn:release_lifecycle:lcorg/in-use/1.0.0' } }, { as: owner });
      expect(codes(result)).toEqual(['CONFLICT']);
      expect(result.errors![0]!.message).toContain('releases use it');
      const [row] = (await h.db.http.execute<{ object_key: string }>(sql`select object_key from release_lifecycles where id = ${id}`)).rows;
      expect(await (h.env.OBJECTS as R2Bucket).head(row!.object_key)).not.toBeNull();
    } finally {
      await h.db.http.execute(sql`drop table lifecycle_users`);
    }
  });
});

describe('release lifecycles: refused uploads', () => {
  it('refuses a lifecycle over PHOBOS_TEMPLATE_MAX_UPLOAD_SIZE with 413 naming the limit, storing no row and no object', async () => {
    const before = await storedObjects();
    const large = `${lifecycle}\n${'#'.repeat(maxUploadSize)}\n`;
    const result = await create({ name: 'too-large', semanticVersion: '1.0.0', hclData: large });
    expect(result.status).toBe(413);
    expect(codes(result)).toEqual(['PAYLOAD_TOO_LARGE']);
    expect(result.errors![0]!.message).toContain(`Release lifecycles are limited to ${maxUploadSize} bytes`);
    expect(result.errors![0]!.extensions!.limit).toBe(maxUploadSize);
    expect(await rowCount('too-large')).toBe(0);
    expect(await storedObjects()).toEqual(before);
  });

  it('lists every problem of a lifecycle with its line and column, storing nothing', async () => {
    const before = await storedObjects();
    const hclData = 'stage "dev" {\n  deployment {\n    environment = "Dev 1"\n  }\n}\nstage "prod" {\n  pre {}\n}\n';
    const result = await create({ name: 'broken', semanticVersion: '1.0.0', hclData });
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
    expect(result.errors![0]!.extensions!.field).toBe('hclData');
    expect(result.errors![0]!.message).toBe(
      [
        'hclData: the lifecycle has 3 problems:',
        '3:19: environment "Dev 1" is not an environment name: 1-64 lowercase letters, digits or inner hyphens.',
        '6:1: stage "prod" needs at least one deployment block: deployment { environment = "<name>" }.',
        '7:3: the pre block of stage "prod" needs a task or approval_rules: pre { approval_rules = ["prn:approval_rule:<organization>/<name>"] }.',
      ].join('\n'),
    );
    expect((result.errors![0]!.extensions!.problems as unknown[]).length).toBe(3);
    expect(await rowCount('broken')).toBe(0);
    expect(await storedObjects()).toEqual(before);
  });

  it('refuses approval rule PRNs that name no rule of the organization, at their line and column', async () => {
    const hclData = lifecycle
      .replace('prn:approval_rule:lcorg/admins', 'prn:approval_rule:lcorg/nobody')
      .replace('  pre {\n', '  pre {\n    approval_rules = ["prn:approval_rule:lcother/admins"]\n');
    const result = await create({ name: 'unknown-rule', semanticVersion: '1.0.0', hclData });
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
    expect(result.errors![0]!.message).toContain(
      '14:24: approval_rules: "prn:approval_rule:lcother/admins": approval rules must be in this lifecycle\'s organization (lcorg).',
    );
    expect(result.errors![0]!.message).toContain('27:24: approval_rules: "prn:approval_rule:lcorg/nobody": no such approval rule exists.');
    expect(await rowCount('unknown-rule')).toBe(0);
  });

  it('refuses bad versions, names, and a scope given twice or not at all', async () => {
    const field = async (input: Record<string, unknown>) => {
      const result = await create(input);
      expect(codes(result)).toEqual(['BAD_USER_INPUT']);
      return result.errors![0]!.extensions!.field;
    };
    expect(await field({ name: 'v', semanticVersion: '1.0' })).toBe('semanticVersion');
    expect(await field({ name: 'v' })).toBe('semanticVersion');
    expect(await field({ name: 'v', versioned: false, semanticVersion: '1.0.0' })).toBe('semanticVersion');
    expect(await field({ name: 'Not A Name', semanticVersion: '1.0.0' })).toBe('name');
    expect(await field({ name: 'v', semanticVersion: '1.0.0', projectId: projectGid })).toBe('projectId');
    expect(await field({ name: 'v', semanticVersion: '1.0.0', organizationId: undefined })).toBe('organizationId');
    expect(await rowCount('v')).toBe(0);
  });

  it('stores an unversioned lifecycle, whose PRN ends in its id', async () => {
    const oneOff = await created({ name: 'one-off', versioned: false });
    expect(oneOff).toMatchObject({ versioned: false, semanticVersion: null, latest: false });
    expect(oneOff.metadata.prn).toBe(`prn:release_lifecycle:lcorg/one-off/${decode(oneOff.id)}`);
    const byPrn = await h.gql<{ releaseLifecycle: { id: string } }>(byIdQuery, { id: oneOff.metadata.prn }, { as: viewer });
    expect(byPrn.data!.releaseLifecycle.id).toBe(oneOff.id);
  });
});
