// Volumes in a job's inputs (GET /agent/v1/jobs/:id), through the real app, a real AgentQueue and
// PostgreSQL: each `vcs` volume the task mounts comes with its options evaluated (variables
// included), its provider's type and API address, and its access token — also among the values the
// executor masks — only when the provider is the job's project's own or its organization's (by id
// or PRN). Another project's or another organization's provider, an unconnected one, or a bad
// repository path is a `problem` naming the volume, and no token of it is handed out.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { sealSecret } from '../../src/domain/vcs-providers/secrets';
import { agentPaths, type JobInputs, type JobVolume } from '../../src/protocol/agent-v1';
import { AgentClient, agentServiceAccount, insertAgent } from '../support/agents';
import { globalId, graphqlHarness, type GraphQLHarness, type Identity } from '../support/graphql';

let h: GraphQLHarness;
let admin: Identity;
let organization: { id: string; name: string };
let web: string;
let api: string;
let client: AgentClient;
let sessionId: string;
const templates = new Map<string, string>();

interface Provider {
  id: string;
  token: string;
  apiUrl: string;
}
const providers: Record<'orgGithub' | 'webGitlab' | 'apiGithub' | 'otherOrgGithub' | 'unconnected', Provider> = {} as never;

async function gql<T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const result = await h.gql<T>(query, variables, { as: admin });
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data!;
}

/** A provider row as the service stores one with a personal access token (sealed), without asking the provider. */
async function insertProvider(
  place: { organizationId: string; projectId?: string },
  name: string,
  type: 'github' | 'gitlab',
  connected = true,
): Promise<Provider> {
  const id = crypto.randomUUID();
  const token = `${type === 'github' ? 'ghp' : 'glpat'}_${crypto.randomUUID().replaceAll('-', '')}`;
  const url = type === 'github' ? 'https://github.example.com' : 'https://gitlab.example.com';
  const apiUrl = type === 'github' ? `${url}/api/v3` : `${url}/api/v4`;
  const sealed = await sealSecret(h.config, id, 'access_token', token);
  await h.db.http.execute(sql`
    insert into vcs_providers (id, organization_id, project_id, name, type, url, api_url, auth_type, oauth_client_id, encrypted_oauth_client_secret, encrypted_access_token)
    values (${id}, ${place.organizationId}, ${place.projectId ?? null}, ${name}, ${type}, ${url}, ${apiUrl},
      ${connected ? 'personal_access_token' : 'oauth'}, ${connected ? null : 'Iv1.client'},
      ${connected ? null : await sealSecret(h.config, id, 'oauth_client_secret', 'client-secret')}, ${connected ? sealed : null})`);
  return { id, token, apiUrl };
}

const hcl = (infraProvider: string) => `
variable "provider" {
  type = string
}
variable "repository" {
  type    = string
  default = "acme/web"
}
variable "version" {
  type    = string
  default = "1.2.0"
}
plugin exec {}
volume "code" {
  type = "vcs"
  vcs_options {
    provider_id     = var.provider
    repository_path = var.repository
    ref             = "v\${var.version}"
  }
}
volume "infra" {
  type = "vcs"
  vcs_options {
    provider_id     = "${infraProvider}"
    repository_path = "acme/platform/infra"
  }
}
stage "build" {
  task "compile" {
    mount_point {
      volume = "code"
      path   = "/src"
    }
    mount_point {
      volume = "infra"
    }
    action "exec_command" {
      command = "ls \\"$PHOBOS_VOLUME_CODE\\" \\"$PHOBOS_VOLUME_INFRA\\""
      volumes = ["code", "infra"]
    }
  }
  task "lint" {
    action "exec_command" {
      command = "true"
    }
  }
}`;

/** Starts a pipeline of `project` with these variables; returns the inputs of its two jobs, by task. */
async function jobInputsOf(project: string, variables: Record<string, string>): Promise<{ compile: JobInputs; lint: JobInputs; raw: string }> {
  let templateId = templates.get(project);
  if (!templateId) {
    const { createPipelineTemplate } = await gql<{ createPipelineTemplate: { pipelineTemplate: { id: string } } }>(
      'mutation($input: CreatePipelineTemplateInput!) { createPipelineTemplate(input: $input) { pipelineTemplate { id } } }',
      {
        input: {
          projectId: globalId('Project', project),
          name: 'with-volumes',
          versioned: false,
          hclData: hcl(`prn:vcs_provider:${organization.name}/web/gitlab-web`),
        },
      },
    );
    templateId = createPipelineTemplate.pipelineTemplate.id;
    templates.set(project, templateId);
  }
  await gql('mutation($input: CreatePipelineInput!) { createPipeline(input: $input) { pipeline { id } } }', {
    input: {
      pipelineTemplateId: templateId,
      type: 'RUNBOOK',
      variables: Object.entries(variables).map(([key, value]) => ({ key, value: JSON.stringify(value) })),
    },
  });
  const leases = await client.claim(sessionId, 2, 10);
  if (leases.length < 2) leases.push(...(await client.claim(sessionId, 1, 10)));
  expect(leases).toHaveLength(2);
  const byTask: Partial<Record<'compile' | 'lint', JobInputs>> = {};
  let raw = '';
  for (const lease of leases) {
    const response = await h.request(agentPaths.job(lease.jobId), { headers: { authorization: `Bearer ${lease.token}` } });
    expect(response.status).toBe(200);
    const text = await response.text();
    raw += text;
    const inputs = JSON.parse(text) as JobInputs;
    byTask[inputs.volumes.length > 0 ? 'compile' : 'lint'] = inputs;
    // Let the jobs go: each test claims its own pipeline's.
    expect((await client.job('POST', agentPaths.running(lease.jobId), lease)).status).toBe(200);
    expect((await client.job('POST', agentPaths.finish(lease.jobId), lease, { status: 'FINISHED' })).status).toBe(200);
  }
  return { compile: byTask.compile!, lint: byTask.lint!, raw };
}

const volume = (inputs: JobInputs, name: string): JobVolume => inputs.volumes.find((candidate) => candidate.name === name)!;

beforeAll(async () => {
  h = await graphqlHarness();
  admin = await h.createUser({ admin: true });
  const name = `vol-${crypto.randomUUID().slice(0, 8)}`;
  const { createOrganization } = await gql<{ createOrganization: { organization: { id: string } } }>(
    'mutation($name: String!) { createOrganization(input: { name: $name }) { organization { id } } }',
    { name },
  );
  organization = { id: atob(createOrganization.organization.id).split(':')[1]!, name };
  const project = async (projectName: string) => {
    const { createProject } = await gql<{ createProject: { project: { id: string } } }>(
      'mutation($org: ID!, $name: String!) { createProject(input: { organizationId: $org, name: $name }) { project { id } } }',
      { org: createOrganization.organization.id, name: projectName },
    );
    return atob(createProject.project.id).split(':')[1]!;
  };
  web = await project('web');
  api = await project('api');
  const { createOrganization: other } = await gql<{ createOrganization: { organization: { id: string } } }>(
    'mutation($name: String!) { createOrganization(input: { name: $name }) { organization { id } } }',
    { name: `other-${crypto.randomUUID().slice(0, 8)}` },
  );
  providers.orgGithub = await insertProvider({ organizationId: organization.id }, 'github', 'github');
  providers.webGitlab = await insertProvider({ organizationId: organization.id, projectId: web }, 'gitlab-web', 'gitlab');
  providers.apiGithub = await insertProvider({ organizationId: organization.id, projectId: api }, 'github-api', 'github');
  providers.otherOrgGithub = await insertProvider({ organizationId: atob(other.organization.id).split(':')[1]! }, 'github', 'github');
  providers.unconnected = await insertProvider({ organizationId: organization.id }, 'github-oauth', 'github', false);

  const agent = await insertAgent(h, { organizationId: organization.id });
  const account = await agentServiceAccount(h, organization.id, agent.id);
  client = new AgentClient(h, account.authorization);
  sessionId = (await client.open(agent.id)).sessionId;
});

describe('volumes in job inputs', () => {
  it("resolves the task's volumes with their providers' tokens (organization's by id, the project's own by PRN), masked", async () => {
    const { compile, lint } = await jobInputsOf(web, { provider: providers.orgGithub.id, version: '2.0.1' });
    expect(compile.volumes).toEqual([
      {
        name: 'code',
        type: 'vcs',
        mountPath: '/src',
        vcs: { provider: 'github', apiUrl: providers.orgGithub.apiUrl, repositoryPath: 'acme/web', ref: 'v2.0.1', token: providers.orgGithub.token },
        problem: null,
      },
      {
        name: 'infra',
        type: 'vcs',
        mountPath: null,
        vcs: { provider: 'gitlab', apiUrl: providers.webGitlab.apiUrl, repositoryPath: 'acme/platform/infra', ref: null, token: providers.webGitlab.token },
        problem: null,
      },
    ]);
    expect(compile.sensitiveValues).toEqual(expect.arrayContaining([providers.orgGithub.token, providers.webGitlab.token]));
    // A task that mounts nothing gets nothing, tokens included.
    expect(lint.volumes).toEqual([]);
    expect(JSON.stringify(lint)).not.toContain(providers.orgGithub.token);
  });

  it("refuses another organization's provider and another project's, as unknown, without their tokens", async () => {
    const other = await jobInputsOf(web, { provider: providers.otherOrgGithub.id });
    expect(volume(other.compile, 'code')).toEqual({
      name: 'code',
      type: 'vcs',
      mountPath: '/src',
      vcs: null,
      problem: `volume "code": provider_id: no VCS provider ${providers.otherOrgGithub.id} in this project or its organization`,
    });
    expect(other.raw).not.toContain(providers.otherOrgGithub.token);
    // By PRN, a provider of a sibling project is as unknown.
    const otherPrn = `prn:vcs_provider:${organization.name}/api/github-api`;
    const sibling = await jobInputsOf(web, { provider: otherPrn });
    expect(volume(sibling.compile, 'code').problem).toBe(`volume "code": provider_id: no VCS provider ${otherPrn} in this project or its organization`);
    expect(sibling.raw).not.toContain(providers.apiGithub.token);

    // In project api, the organization's provider (by PRN) is inherited, while web's own provider is not api's.
    const inApi = await jobInputsOf(api, { provider: `prn:vcs_provider:${organization.name}/github` });
    expect(volume(inApi.compile, 'code').vcs).toMatchObject({ provider: 'github', token: providers.orgGithub.token });
    expect(volume(inApi.compile, 'infra')).toMatchObject({
      vcs: null,
      problem: `volume "infra": provider_id: no VCS provider prn:vcs_provider:${organization.name}/web/gitlab-web in this project or its organization`,
    });
    expect(inApi.raw).not.toContain(providers.webGitlab.token);
    expect(inApi.compile.sensitiveValues).not.toContain(providers.webGitlab.token);
  });

  it('says why a volume cannot be resolved: an unconnected provider, a bad repository path, a malformed reference', async () => {
    const unconnected = await jobInputsOf(web, { provider: providers.unconnected.id });
    expect(volume(unconnected.compile, 'code').problem).toMatch(/^volume "code": VCS provider github-oauth is not connected yet; reauthorize it/);

    const badPath = await jobInputsOf(web, { provider: providers.orgGithub.id, repository: 'acme/web/extra' });
    expect(volume(badPath.compile, 'code')).toMatchObject({
      vcs: null,
      problem: 'volume "code": repository_path "acme/web/extra" must be <owner>/<repository> on GitHub',
    });
    expect(badPath.raw).not.toContain(providers.orgGithub.token);

    const malformed = await jobInputsOf(web, { provider: 'github' });
    expect(volume(malformed.compile, 'code').problem).toBe('volume "code": provider_id: no VCS provider github in this project or its organization');
  });
});
