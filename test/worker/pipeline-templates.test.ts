// Pipeline templates over GraphQL against the real app, database and R2 binding: upload and read
// back (body, checksum, variables, stages), immutable versions, the latest flag, the size limit
// (413, nothing stored), template problems with their line and column, approval rule PRNs checked
// against the organization, PRNs, listing, deletion, and other tenants.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCaller } from '../../src/auth/caller';
import type { Caller } from '../../src/auth/rbac';
import { createApprovalRule } from '../../src/domain/approval-rules/service';
import { addMember } from '../../src/domain/memberships/service';
import { createOrganization } from '../../src/domain/organizations/service';
import { createProject } from '../../src/domain/projects/service';
import { globalId, graphqlHarness, type GraphQLHarness, type GraphQLResult, type Identity } from '../support/graphql';

const maxUploadSize = 4096;

interface TemplateResult {
  id: string;
  name: string;
  versioned: boolean;
  semanticVersion: string | null;
  latest: boolean;
  status: string;
  sha256Checksum: string;
  sizeBytes: number;
  hclData: string;
  source: string;
  variables: { name: string; type: string; hasDefault: boolean; defaultValue: string | null; sensitive: boolean; description: string | null }[];
  stages: { name: string; when: string; tasks: string[]; nestedPipelines: string[]; approvalRules: string[] }[];
  project: { id: string };
  metadata: { prn: string };
}

const fields =
  'id name versioned semanticVersion latest status sha256Checksum sizeBytes hclData source variables { name type hasDefault defaultValue sensitive description } stages { name when tasks nestedPipelines approvalRules } project { id } metadata { prn }';
const createMutation = `mutation($input: CreatePipelineTemplateInput!) { createPipelineTemplate(input: $input) { pipelineTemplate { ${fields} } } }`;
const deleteMutation = 'mutation($input: DeletePipelineTemplateInput!) { deletePipelineTemplate(input: $input) { pipelineTemplate { id } } }';
const byIdQuery = `query($id: ID!) { pipelineTemplate(id: $id) { ${fields} } }`;

const template = `variable "sample" {
  type    = string
  default = "this is the default value"
}

variable "ports" {
  type    = list(number)
  default = [8000, 8001]
}

variable "secret" {
  type      = string
  default   = "hunter2"
  sensitive = true
}

plugin exec {}

stage "deployment" {
  approval_rules = ["prn:approval_rule:acme/admins"]
  task "deploy_resource" {
    action "exec_command" {
      command = <<EOF
echo "Deploying resource..."
echo "value for sample=\${var.sample}"
echo "value for ports=\${jsonencode(var.ports)}"
EOF
    }
  }
}
`;

let h: GraphQLHarness;
let adminCaller: Caller;
let owner: Identity;
let developer: Identity;
let viewer: Identity;
let outsider: Identity;
let projectId: string;
let projectGid: string;

const codes = (result: GraphQLResult<unknown>) => result.errors?.map((error) => error.extensions?.code);

function create(input: Record<string, unknown>, as: Identity = developer) {
  return h.gql<{ createPipelineTemplate: { pipelineTemplate: TemplateResult } }>(
    createMutation,
    { input: { projectId: projectGid, versioned: true, hclData: template, ...input } },
    { as },
  );
}

async function storedObjects(): Promise<string[]> {
  const listed = await (h.env.OBJECTS as R2Bucket).list({ prefix: `pipeline-templates/${projectId}/` });
  return listed.objects.map((object) => object.key);
}

async function rowCount(name: string): Promise<number> {
  return (await h.db.http.execute<{ count: number }>(sql`select count(*)::int as count from pipeline_templates where name = ${name}`)).rows[0]!.count;
}

async function sha256(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

beforeAll(async () => {
  h = await graphqlHarness({ PHOBOS_TEMPLATE_MAX_UPLOAD_SIZE: String(maxUploadSize) });
  const admin = await h.createUser({ admin: true });
  owner = await h.createUser();
  developer = await h.createUser();
  viewer = await h.createUser();
  outsider = await h.createUser();
  adminCaller = await loadCaller(h.db.http, { kind: 'user', userId: admin.id, username: admin.name, email: '', isAdmin: true, via: 'access_token' });
  const organization = await createOrganization(h.db.http, adminCaller, { name: 'acme' });
  const project = await createProject(h.db.http, adminCaller, { organizationId: organization.id, name: 'web' });
  projectId = project.id;
  projectGid = globalId('Project', project.id);
  await addMember(h.db.http, adminCaller, { organizationId: organization.id, userId: owner.id, role: 'owner' });
  await addMember(h.db.http, adminCaller, { organizationId: organization.id, userId: developer.id, role: 'developer' });
  await addMember(h.db.http, adminCaller, { organizationId: organization.id, userId: viewer.id, role: 'viewer' });
  await createApprovalRule(h.db.http, adminCaller, {
    organizationId: organization.id,
    name: 'admins',
    approvalsRequired: 1,
    principals: { userIds: [owner.id] },
  });
  const other = await createOrganization(h.db.http, adminCaller, { name: 'other' });
  await addMember(h.db.http, adminCaller, { organizationId: other.id, userId: outsider.id, role: 'owner' });
  await createApprovalRule(h.db.http, adminCaller, { organizationId: other.id, name: 'admins', approvalsRequired: 1, principals: { userIds: [outsider.id] } });
});

describe('pipeline templates: upload and read back', () => {
  let created: TemplateResult;

  it('stores a version: body, checksum, size, variables, stages, PRN, and an activity event', async () => {
    const result = await create({ name: 'deploy', semanticVersion: '1.0.0' });
    expect(result.errors).toBeUndefined();
    created = result.data!.createPipelineTemplate.pipelineTemplate;
    expect(created).toMatchObject({
      name: 'deploy',
      versioned: true,
      semanticVersion: '1.0.0',
      latest: true,
      status: 'UPLOADED',
      hclData: template,
      sha256Checksum: await sha256(template),
      sizeBytes: new TextEncoder().encode(template).byteLength,
      source: 'UPLOAD',
      project: { id: projectGid },
      metadata: { prn: 'prn:pipeline_template:acme/web/deploy/1.0.0' },
      stages: [{ name: 'deployment', when: 'AUTO', tasks: ['deploy_resource'], nestedPipelines: [], approvalRules: ['prn:approval_rule:acme/admins'] }],
    });
    expect(created.variables).toEqual([
      { name: 'sample', type: 'string', hasDefault: true, defaultValue: '"this is the default value"', sensitive: false, description: null },
      { name: 'ports', type: 'list(number)', hasDefault: true, defaultValue: '[8000,8001]', sensitive: false, description: null },
      // A sensitive default is never returned.
      { name: 'secret', type: 'string', hasDefault: true, defaultValue: null, sensitive: true, description: null },
    ]);
    const events = await h.db.http.execute<{ action: string; target_type: string }>(
      sql`select action, target_type from activity_events where target_prn = 'prn:pipeline_template:acme/web/deploy/1.0.0'`,
    );
    expect(events.rows).toEqual([{ action: 'create', target_type: 'pipeline_template' }]);
    // The body is in the object store, under a key that does not name the template.
    const [row] = (await h.db.http.execute<{ object_key: string }>(sql`select object_key from pipeline_templates where id = ${decode(created.id)}`)).rows;
    expect(row!.object_key).not.toContain('deploy');
    expect(await (await (h.env.OBJECTS as R2Bucket).get(row!.object_key))!.text()).toBe(template);
  });

  it('reads a version back by global id and by PRN, for anyone who may view the project', async () => {
    const byId = await h.gql<{ pipelineTemplate: TemplateResult }>(byIdQuery, { id: created.id }, { as: viewer });
    expect(byId.errors).toBeUndefined();
    expect(byId.data!.pipelineTemplate).toMatchObject({ id: created.id, hclData: template });
    const byPrn = await h.gql<{ pipelineTemplate: TemplateResult }>(byIdQuery, { id: 'prn:pipeline_template:acme/web/deploy/1.0.0' }, { as: viewer });
    expect(byPrn.data!.pipelineTemplate.id).toBe(created.id);
  });

  it('is not visible to another tenant', async () => {
    const result = await h.gql<{ pipelineTemplate: TemplateResult }>(byIdQuery, { id: created.id }, { as: outsider });
    expect(codes(result)).toEqual(['NOT_FOUND']);
    const node = await h.gql<{ node: { id: string } | null }>('query($id: ID!) { node(id: $id) { id } }', { id: created.id }, { as: outsider });
    expect(node.data!.node).toBeNull();
  });

  it('refuses viewers (pipeline_template:manage) and stores nothing', async () => {
    const before = await storedObjects();
    const result = await create({ name: 'viewer-made', semanticVersion: '1.0.0' }, viewer);
    expect(codes(result)).toEqual(['FORBIDDEN']);
    expect(await rowCount('viewer-made')).toBe(0);
    expect(await storedObjects()).toEqual(before);
  });
});

function decode(gid: string): string {
  return atob(gid).split(':')[1]!;
}

describe('pipeline templates: versions', () => {
  it('refuses a version that exists (versions are immutable; there is no update) and stores nothing more', async () => {
    await create({ name: 'immutable', semanticVersion: '1.0.0' });
    const before = await storedObjects();
    const again = await create({ name: 'immutable', semanticVersion: '1.0.0', hclData: `${template}\n# changed\n` });
    expect(codes(again)).toEqual(['CONFLICT']);
    expect(again.errors![0]!.message).toContain('Version 1.0.0 of pipeline template immutable already exists');
    expect(await rowCount('immutable')).toBe(1);
    expect(await storedObjects()).toEqual(before);
    const schema = await h.gql<{ __schema: { mutationType: { fields: { name: string }[] } } }>('{ __schema { mutationType { fields { name } } } }', undefined, {
      as: developer,
    });
    expect(
      schema
        .data!.__schema.mutationType.fields.map((field) => field.name)
        .filter((name) => name.includes('PipelineTemplate'))
        .sort(),
    ).toEqual(['createPipelineTemplate', 'createPipelineTemplateFromVCS', 'deletePipelineTemplate']);
  });

  it('marks the highest semantic version latest, whatever the upload order, and moves it back on delete', async () => {
    const versions = ['1.9.0', '1.10.0', '1.10.0-rc.1', '0.1.0'];
    const ids: Record<string, string> = {};
    for (const version of versions) {
      const result = await create({ name: 'ranked', semanticVersion: version });
      expect(result.errors).toBeUndefined();
      ids[version] = result.data!.createPipelineTemplate.pipelineTemplate.id;
    }
    const latest = async () =>
      (
        await h.gql<{ project: { pipelineTemplates: { totalCount: number; edges: { node: { semanticVersion: string } }[] } } }>(
          'query($id: ID!) { project(id: $id) { pipelineTemplates(name: "ranked", latest: true) { totalCount edges { node { semanticVersion } } } } }',
          { id: projectGid },
          { as: viewer },
        )
      ).data!.project.pipelineTemplates;
    expect(await latest()).toEqual({ totalCount: 1, edges: [{ node: { semanticVersion: '1.10.0' } }] });
    const deleted = await h.gql(deleteMutation, { input: { id: ids['1.10.0'] } }, { as: developer });
    expect(deleted.errors).toBeUndefined();
    // 1.10.0-rc.1 comes before 1.10.0 but after 1.9.0.
    expect(await latest()).toEqual({ totalCount: 1, edges: [{ node: { semanticVersion: '1.10.0-rc.1' } }] });
    expect(await rowCount('ranked')).toBe(3);
  });

  it('keeps exactly one latest version when versions of a name are uploaded at once', async () => {
    const versions = ['2.0.0', '2.1.0', '2.0.1', '1.0.0'];
    const results = await Promise.all(versions.map((semanticVersion) => create({ name: 'concurrent', semanticVersion })));
    for (const result of results) expect(result.errors).toBeUndefined();
    const latest = await h.db.http.execute<{ semantic_version: string }>(
      sql`select semantic_version from pipeline_templates where name = 'concurrent' and latest`,
    );
    expect(latest.rows).toEqual([{ semantic_version: '2.1.0' }]);
    expect(await rowCount('concurrent')).toBe(4);
  });

  it('lets one of two uploads of the same version win; the other gets CONFLICT and leaves no object behind', async () => {
    const results = await Promise.all([create({ name: 'race', semanticVersion: '1.0.0' }), create({ name: 'race', semanticVersion: '1.0.0' })]);
    expect(results.map((result) => codes(result)?.[0] ?? 'ok').sort()).toEqual(['CONFLICT', 'ok']);
    expect(await rowCount('race')).toBe(1);
    // Every object under the project's prefix belongs to a row.
    const rows = await h.db.http.execute<{ object_key: string }>(sql`select object_key from pipeline_templates where project_id = ${projectId}`);
    expect((await storedObjects()).sort()).toEqual(rows.rows.map((row) => row.object_key).sort());
  });

  it('deletes the body with the row', async () => {
    const created = (await create({ name: 'short-lived', semanticVersion: '1.0.0' })).data!.createPipelineTemplate.pipelineTemplate;
    const [row] = (await h.db.http.execute<{ object_key: string }>(sql`select object_key from pipeline_templates where id = ${decode(created.id)}`)).rows;
    const result = await h.gql(deleteMutation, { input: { id: created.id } }, { as: developer });
    expect(result.errors).toBeUndefined();
    expect(await rowCount('short-lived')).toBe(0);
    expect(await (h.env.OBJECTS as R2Bucket).head(row!.object_key)).toBeNull();
  });

  it('refuses to delete a version that rows elsewhere still reference (pipelines), deleting nothing', async () => {
    const created = (await create({ name: 'in-use', semanticVersion: '1.0.0' })).data!.createPipelineTemplate.pipelineTemplate;
    const id = decode(created.id);
    // Stands in for the pipelines table, whose rows reference the version they were created from.
    await h.db.http.execute(sql`create table template_users (template_id uuid not null references pipeline_templates (id))`);
    await h.db.http.execute(sql`insert into template_users (template_id) values (${id})`);
    const result = await h.gql(deleteMutation, { input: { id: 'prn:pipeline_template:acme/web/in-use/1.0.0' } }, { as: developer });
    expect(codes(result)).toEqual(['CONFLICT']);
    expect(result.errors![0]!.message).toContain('pipelines were created from it');
    const [row] = (await h.db.http.execute<{ object_key: string }>(sql`select object_key from pipeline_templates where id = ${id}`)).rows;
    expect(await (h.env.OBJECTS as R2Bucket).head(row!.object_key)).not.toBeNull();
    await h.db.http.execute(sql`drop table template_users`);
  });

  it('lists versions with filters and in either order', async () => {
    await create({ name: 'one-off', versioned: false });
    const list = async (args: string) =>
      (
        await h.gql<{ project: { pipelineTemplates: { edges: { node: { name: string; semanticVersion: string | null } }[] } } }>(
          `query($id: ID!) { project(id: $id) { pipelineTemplates(${args}) { edges { node { name semanticVersion } } } } }`,
          { id: projectGid },
          { as: viewer },
        )
      ).data!.project.pipelineTemplates.edges.map((edge) => `${edge.node.name}@${edge.node.semanticVersion}`);
    expect(await list('versioned: false')).toEqual(['one-off@null']);
    expect(await list('name: "ranked", latest: false')).toEqual(['ranked@0.1.0', 'ranked@1.9.0']);
    expect(await list('name: "ranked", sort: CREATED_AT_ASC')).toEqual(['ranked@1.9.0', 'ranked@1.10.0-rc.1', 'ranked@0.1.0']);
    expect(await list('name: "ranked"')).toEqual(['ranked@0.1.0', 'ranked@1.10.0-rc.1', 'ranked@1.9.0']);
    const paged = await h.gql<{ project: { pipelineTemplates: { totalCount: number; edges: unknown[]; pageInfo: { hasNextPage: boolean } } } }>(
      'query($id: ID!) { project(id: $id) { pipelineTemplates(name: "ranked", first: 2) { totalCount edges { cursor } pageInfo { hasNextPage } } } }',
      { id: projectGid },
      { as: viewer },
    );
    expect(paged.data!.project.pipelineTemplates).toMatchObject({ totalCount: 3, pageInfo: { hasNextPage: true } });
    expect(paged.data!.project.pipelineTemplates.edges).toHaveLength(2);
  });

  it('refuses versions that are not SemVer 2.0, and a versioned template without one', async () => {
    for (const semanticVersion of ['1.0', 'v1.0.0', '01.0.0', '1.0.0-', '1.0.0+build.1']) {
      const result = await create({ name: 'bad-version', semanticVersion });
      expect(codes(result), semanticVersion).toEqual(['BAD_USER_INPUT']);
      expect(result.errors![0]!.extensions!.field).toBe('semanticVersion');
    }
    expect(codes(await create({ name: 'bad-version' }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await create({ name: 'bad-version', versioned: false, semanticVersion: '1.0.0' }))).toEqual(['BAD_USER_INPUT']);
    expect(await rowCount('bad-version')).toBe(0);
  });
});

describe('pipeline templates: the upload limit', () => {
  it('refuses a template over PHOBOS_TEMPLATE_MAX_UPLOAD_SIZE with 413 naming the limit, storing no row and no object', async () => {
    const before = await storedObjects();
    const large = `${template}\n${'#'.repeat(maxUploadSize)}\n`;
    const result = await create({ name: 'too-large', semanticVersion: '1.0.0', hclData: large });
    expect(result.status).toBe(413);
    expect(codes(result)).toEqual(['PAYLOAD_TOO_LARGE']);
    expect(result.errors![0]!.message).toContain(`limited to ${maxUploadSize} bytes`);
    expect(result.errors![0]!.extensions!.limit).toBe(maxUploadSize);
    expect(await rowCount('too-large')).toBe(0);
    expect(await storedObjects()).toEqual(before);
  });

  it('answers 413, not 500, to a request body over the GraphQL route limit', async () => {
    const huge = '#'.repeat(2 * 1024 * 1024);
    const result = await create({ name: 'too-large', semanticVersion: '1.0.0', hclData: huge });
    expect(result.status).toBe(413);
    expect(await rowCount('too-large')).toBe(0);
  });
});

describe('pipeline templates: problems', () => {
  it('lists every problem of a template with its line and column, storing nothing', async () => {
    const before = await storedObjects();
    const result = await create({
      name: 'broken',
      semanticVersion: '1.0.0',
      hclData: 'stge "x" {}\nstage "a" {\n  when = "never"\n  task "t" {\n    action "exec_command" {\n      command = var.missing\n    }\n  }\n}\n',
    });
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
    const [error] = result.errors!;
    expect(error!.extensions!.field).toBe('hclData');
    expect(error!.message).toContain('the template has 3 problems');
    expect(error!.message).toContain('1:1: Unknown block "stge" in a pipeline template. Did you mean "stage"?');
    expect(error!.message).toContain('3:10: when must be "auto" or "pipeline_failure", not "never".');
    expect(error!.message).toContain('6:17: Unknown variable "missing"');
    expect(error!.extensions!.problems).toEqual([
      expect.objectContaining({ line: 1, column: 1 }),
      expect.objectContaining({ line: 3, column: 10 }),
      expect.objectContaining({ line: 6, column: 17 }),
    ]);
    expect(await rowCount('broken')).toBe(0);
    expect(await storedObjects()).toEqual(before);
  });

  it('reports a syntax error at its line', async () => {
    const result = await create({ name: 'broken', semanticVersion: '1.0.0', hclData: 'stage "a" {\n  task "t" {\n' });
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
    expect(result.errors![0]!.message).toMatch(/hclData: the template has a problem:\n\d+:\d+: /);
  });

  it('refuses approval rule PRNs that name no rule of the organization, at their line and column', async () => {
    const hclData = template
      .replace('prn:approval_rule:acme/admins', 'prn:approval_rule:acme/nobody')
      .replace('task "deploy_resource" {', 'task "deploy_resource" {\n    approval_rules = ["prn:approval_rule:other/admins"]');
    const result = await create({ name: 'unknown-rule', semanticVersion: '1.0.0', hclData });
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
    expect(result.errors![0]!.message).toContain('20:22: approval_rules: "prn:approval_rule:acme/nobody": no such approval rule exists.');
    expect(result.errors![0]!.message).toContain('"prn:approval_rule:other/admins": approval rules must be in this project\'s organization (acme)');
    expect(await rowCount('unknown-rule')).toBe(0);
  });

  it('keeps tab and newlines in hclData but refuses other control characters', async () => {
    const result = await create({ name: 'control', semanticVersion: '1.0.0', hclData: `${template}\u0007` });
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
    expect(result.errors![0]!.extensions!.field).toBe('input.hclData');
  });
});
