// Authorization rows of pipeline templates: created and deleted with pipeline_template:manage
// (owners, release managers, developers, in the organization or the project), read by whoever may
// view the project.
import { sql } from 'drizzle-orm';
import { createPipelineTemplate } from '../../../src/domain/templates/service';
import { objectStoreFor } from '../../../src/platform/object-store/select';
import { globalId } from '../../support/graphql';
import { adminCaller, graphqlOutcome, h, inTenant, roles, seeTenant, tenant, unique, type Actor, type Outcome, type Row } from './world';

const templateManagers = inTenant(['admin', 'owner', 'release_manager', 'developer', 'project_developer', 'scoped_key_in']);
const hclData = 'plugin exec {}\n\nstage "build" {\n  task "compile" {\n    action "exec_command" {\n      command = "make"\n    }\n  }\n}\n';

const newTemplate = () =>
  createPipelineTemplate(
    h.db.http,
    objectStoreFor(h.env, h.config),
    adminCaller,
    { maxUploadBytes: h.config.server.templateMaxUploadSize },
    {
      projectId: tenant.projectId,
      name: unique('template'),
      versioned: true,
      semanticVersion: '1.0.0',
      hclData,
    },
  );

let readable: Promise<{ id: string }> | undefined;
let provider: Promise<string> | undefined;

/** A provider of the tenant that was never connected: a caller allowed to read from it is told so (CONFLICT). */
async function unconnectedProvider(): Promise<string> {
  const id = crypto.randomUUID();
  await h.db.http.execute(sql`
    insert into vcs_providers (id, organization_id, name, type, url, api_url, auth_type, oauth_client_id, encrypted_oauth_client_secret)
    values (${id}, ${tenant.id}, ${unique('github')}, 'github', 'https://github.com', 'https://api.github.com', 'oauth', 'client', 'sealed')`);
  return id;
}

/** Past authorization, the managers reach the provider and hear that it is not connected. */
const reachingTheProvider = Object.fromEntries(
  Object.entries(templateManagers).map(([actor, outcome]) => [actor, outcome === 'ok' ? ('CONFLICT' as Outcome) : outcome]),
) as Record<Actor, Outcome>;

export const graphqlRows: Record<string, Row> = {
  'Query.pipelineTemplate': {
    run: async (a) => {
      readable ??= newTemplate();
      return graphqlOutcome(a, 'query($id: ID!) { pipelineTemplate(id: $id) { id } }', { id: globalId('PipelineTemplate', (await readable).id) });
    },
    expected: inTenant([...seeTenant, ...roles]),
  },
  'Mutation.createPipelineTemplate': {
    run: (a) =>
      graphqlOutcome(a, 'mutation($input: CreatePipelineTemplateInput!) { createPipelineTemplate(input: $input) { pipelineTemplate { id } } }', {
        input: { projectId: globalId('Project', tenant.projectId), name: unique('template'), versioned: true, semanticVersion: '1.0.0', hclData },
      }),
    expected: templateManagers,
  },
  'Mutation.createPipelineTemplateFromVCS': {
    run: async (a) => {
      provider ??= unconnectedProvider();
      return graphqlOutcome(
        a,
        'mutation($input: CreatePipelineTemplateFromVCSInput!) { createPipelineTemplateFromVCS(input: $input) { pipelineTemplate { id } } }',
        {
          input: {
            projectId: globalId('Project', tenant.projectId),
            name: unique('template'),
            semanticVersion: '1.0.0',
            vcsProviderId: globalId('VCSProvider', await provider),
            repository: 'acme/web',
            ref: 'main',
            path: 'deploy.hcl',
          },
        },
      );
    },
    expected: reachingTheProvider,
  },
  'Mutation.deletePipelineTemplate': {
    run: async (a) => {
      const template = await newTemplate();
      return graphqlOutcome(a, 'mutation($input: DeletePipelineTemplateInput!) { deletePipelineTemplate(input: $input) { pipelineTemplate { id } } }', {
        input: { id: globalId('PipelineTemplate', template.id) },
      });
    },
    expected: templateManagers,
  },
};

export const restRows: Record<string, Row> = {};
