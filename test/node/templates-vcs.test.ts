// Pipeline templates read from a repository through a VCS provider: a real Worker (wrangler's dev
// server, with its local R2) in front of a database of its own, and the fake GitHub and GitLab
// (test/fakes/vcs.ts) answering their documented file endpoints. The file goes through what an
// upload does — the size limit, compile, the object store — and records where it came from.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeVcs, type FakeVcs } from '../fakes/vcs';
import { signInWithPassword, startWorkerServer, type WorkerServer } from '../support/worker-server';

const maxUploadSize = 2048;

let server: WorkerServer;
let fake: FakeVcs;
let adminToken: string;
let projectId: string;
let githubProviderId: string;
let gitlabProviderId: string;
let otherProviderId: string;

interface GqlResult<T> {
  status: number;
  data?: T;
  errors?: { message: string; extensions?: { code?: string; field?: string; limit?: number } }[];
}

async function gql<T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}): Promise<GqlResult<T>> {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, ...((await response.json()) as { data?: T; errors?: GqlResult<T>['errors'] }) };
}

const template = `plugin exec {}

stage "build" {
  task "compile" {
    action "exec_command" {
      command = "make"
    }
  }
}
`;

const fromVcs = `mutation($input: CreatePipelineTemplateFromVCSInput!) {
  createPipelineTemplateFromVCS(input: $input) {
    pipelineTemplate { name semanticVersion latest source hclData sizeBytes vcsSource { vcsProviderId repository ref path } metadata { prn } }
  }
}`;

interface Created {
  createPipelineTemplateFromVCS: {
    pipelineTemplate: {
      name: string;
      semanticVersion: string | null;
      source: string;
      hclData: string;
      sizeBytes: number;
      vcsSource: { vcsProviderId: string; repository: string; ref: string; path: string } | null;
      metadata: { prn: string };
    };
  };
}

async function createProvider(organizationId: string, name: string, type: 'GITHUB' | 'GITLAB', token: string): Promise<string> {
  const apiUrl = type === 'GITHUB' ? fake.url : `${fake.url}/api/v4`;
  const created = await gql<{ createVCSProvider: { vcsProvider: { id: string } } }>(
    'mutation($input: CreateVCSProviderInput!) { createVCSProvider(input: $input) { vcsProvider { id } } }',
    { input: { organizationId, name, type, url: fake.url, apiUrl, authType: 'PERSONAL_ACCESS_TOKEN', personalAccessToken: token } },
  );
  expect(created.errors).toBeUndefined();
  return created.data!.createVCSProvider.vcsProvider.id;
}

async function createOrganization(name: string): Promise<string> {
  const created = await gql<{ createOrganization: { organization: { id: string } } }>(
    'mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }',
    { input: { name } },
  );
  return created.data!.createOrganization.organization.id;
}

async function templateCount(): Promise<number> {
  const result = await gql<{ node: { pipelineTemplates: { totalCount: number } } }>(
    'query($id: ID!) { node(id: $id) { ... on Project { pipelineTemplates { totalCount } } } }',
    { id: projectId },
  );
  return result.data!.node.pipelineTemplates.totalCount;
}

beforeAll(async () => {
  [server, fake] = await Promise.all([startWorkerServer({ PHOBOS_TEMPLATE_MAX_UPLOAD_SIZE: String(maxUploadSize) }), startFakeVcs()]);
  adminToken = (await signInWithPassword(server, server.admin.email, server.admin.password)).access_token;
  const organizationId = await createOrganization('acme');
  const project = await gql<{ createProject: { project: { id: string } } }>(
    'mutation($input: CreateProjectInput!) { createProject(input: $input) { project { id } } }',
    { input: { organizationId, name: 'web' } },
  );
  projectId = project.data!.createProject.project.id;
  githubProviderId = await createProvider(organizationId, 'github', 'GITHUB', fake.personalAccessToken('github', 'octocat'));
  gitlabProviderId = await createProvider(organizationId, 'gitlab', 'GITLAB', fake.personalAccessToken('gitlab', 'tanuki'));
  otherProviderId = await createProvider(await createOrganization('other'), 'github', 'GITHUB', fake.personalAccessToken('github', 'someone'));
  fake.addFile('github', 'acme/web', 'main', 'templates/deploy.hcl', template);
  fake.addFile('github', 'acme/web', 'v2', 'templates/deploy.hcl', `${template}# v2\n`);
  fake.addFile('gitlab', 'acme/platform/web', 'main', 'ci/deploy.hcl', template);
  fake.addFile('github', 'acme/web', 'main', 'big.hcl', `${template}${'#'.repeat(maxUploadSize)}\n`);
  fake.addFile('github', 'acme/web', 'main', 'broken.hcl', 'stage "a" {\n  when = "never"\n  task "t" {}\n}\n');
}, 90_000);

afterAll(async () => {
  await Promise.all([server?.stop(), fake?.close()]);
});

describe('pipeline templates from a repository', () => {
  it('reads the file from GitHub at a ref, raw, and records where it came from', async () => {
    const result = await gql<Created>(fromVcs, {
      input: {
        projectId,
        name: 'deploy',
        semanticVersion: '1.0.0',
        vcsProviderId: githubProviderId,
        repository: 'acme/web',
        ref: 'main',
        path: 'templates/deploy.hcl',
      },
    });
    expect(result.errors).toBeUndefined();
    expect(result.data!.createPipelineTemplateFromVCS.pipelineTemplate).toMatchObject({
      name: 'deploy',
      semanticVersion: '1.0.0',
      source: 'VCS',
      hclData: template,
      sizeBytes: Buffer.byteLength(template),
      vcsSource: { vcsProviderId: githubProviderId, repository: 'acme/web', ref: 'main', path: 'templates/deploy.hcl' },
      metadata: { prn: 'prn:pipeline_template:acme/web/deploy/1.0.0' },
    });
    const asked = fake.requests().filter((request) => request.path.startsWith('/repos/'));
    expect(asked.at(-1)).toMatchObject({ method: 'GET', path: '/repos/acme/web/contents/templates/deploy.hcl', status: 200 });

    const v2 = await gql<Created>(fromVcs, {
      input: {
        projectId,
        name: 'deploy',
        semanticVersion: '2.0.0',
        vcsProviderId: githubProviderId,
        repository: 'acme/web',
        ref: 'v2',
        path: 'templates/deploy.hcl',
      },
    });
    expect(v2.data!.createPipelineTemplateFromVCS.pipelineTemplate.hclData).toBe(`${template}# v2\n`);
  });

  it('reads the file from GitLab, a project in a nested group', async () => {
    const result = await gql<Created>(fromVcs, {
      input: {
        projectId,
        name: 'gitlab-deploy',
        semanticVersion: '1.0.0',
        vcsProviderId: gitlabProviderId,
        repository: 'acme/platform/web',
        ref: 'main',
        path: 'ci/deploy.hcl',
      },
    });
    expect(result.errors).toBeUndefined();
    expect(result.data!.createPipelineTemplateFromVCS.pipelineTemplate).toMatchObject({ source: 'VCS', hclData: template });
    expect(fake.requests().some((request) => request.path === '/api/v4/projects/acme%2Fplatform%2Fweb/repository/files/ci%2Fdeploy.hcl/raw')).toBe(true);
  });

  it('refuses a file that is not there, naming the path', async () => {
    const result = await gql<Created>(fromVcs, {
      input: { projectId, name: 'missing', semanticVersion: '1.0.0', vcsProviderId: githubProviderId, repository: 'acme/web', ref: 'main', path: 'nope.hcl' },
    });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'path' });
  });

  it('refuses a file over the upload limit with 413 and stores nothing', async () => {
    const before = await templateCount();
    const result = await gql<Created>(fromVcs, {
      input: { projectId, name: 'big', semanticVersion: '1.0.0', vcsProviderId: githubProviderId, repository: 'acme/web', ref: 'main', path: 'big.hcl' },
    });
    expect(result.status).toBe(413);
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', limit: maxUploadSize });
    expect(await templateCount()).toBe(before);
  });

  it('reports the problems of a file like those of an upload', async () => {
    const result = await gql<Created>(fromVcs, {
      input: { projectId, name: 'broken', semanticVersion: '1.0.0', vcsProviderId: githubProviderId, repository: 'acme/web', ref: 'main', path: 'broken.hcl' },
    });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'hclData' });
    expect(result.errors?.[0]?.message).toContain('2:10: when must be "auto" or "pipeline_failure", not "never".');
  });

  it("refuses another organization's provider as not found", async () => {
    const result = await gql<Created>(fromVcs, {
      input: {
        projectId,
        name: 'elsewhere',
        semanticVersion: '1.0.0',
        vcsProviderId: otherProviderId,
        repository: 'acme/web',
        ref: 'main',
        path: 'templates/deploy.hcl',
      },
    });
    expect(result.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('refuses a repository path that is not owner/name', async () => {
    const result = await gql<Created>(fromVcs, {
      input: {
        projectId,
        name: 'bad',
        semanticVersion: '1.0.0',
        vcsProviderId: githubProviderId,
        repository: 'acme/../web',
        ref: 'main',
        path: 'templates/deploy.hcl',
      },
    });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'repository' });
  });
});
