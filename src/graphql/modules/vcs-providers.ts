// VCS providers (GitHub, GitLab, self-hosted too), as the Phobos API exposes them:
//   query { organization(name: "acme") { vcsProviders { id name type accountName metadata { prn } } } }
//   query { project(id: "...") { vcsProviders { id name inherited } } }
//   mutation { createVCSProvider(input: { organizationId: "...", name: "github", type: GITHUB, authType: PERSONAL_ACCESS_TOKEN,
//     personalAccessToken: "..." }) { vcsProvider { id accountName } } }
//   mutation { createVCSProvider(input: { projectId: "...", name: "gitlab", type: GITLAB, url: "https://gitlab.example.com",
//     authType: OAUTH, oauthClientId: "...", oauthClientSecret: "..." }) { vcsProvider { id } oauthAuthorizationUrl } }
//   mutation { updateVCSProvider(input: { id: "...", metadata: { version: "1" }, personalAccessToken: "..." }) { vcsProvider { id } } }
//   mutation { deleteVCSProvider(input: { id: "...", metadata: { version: "2" } }) { vcsProvider { id } } }
// No field returns a token or a client secret. Who may see and change what is decided in the service.
import type { VcsAuthType, VcsProviderType } from '../../db/schema';
import type { VcsProviderView } from '../../domain/vcs-providers/records';
import { vcsProviderPrn } from '../../domain/vcs-providers/records';
import {
  createVcsProvider,
  deleteVcsProvider,
  listOrganizationVcsProviders,
  listProjectVcsProviders,
  updateVcsProvider,
  vcsProviderIdsByPath,
  vcsProvidersByIds,
} from '../../domain/vcs-providers/service';
import { builder } from '../builder';
import type { GraphQLContext } from '../context';
import { parseVersion, ResourceMetadata, ResourceMetadataInput } from '../metadata';
import { acceptPrns } from '../prns';
import { OrganizationNode } from './organizations';
import { ProjectNode } from './projects';

type ProviderShape = VcsProviderView & { inherited?: boolean };

const VcsProviderTypeEnum = builder.enumType('VCSProviderType', {
  values: { GITHUB: { value: 'github' }, GITLAB: { value: 'gitlab' } } as const,
});

const VcsAuthTypeEnum = builder.enumType('VCSProviderAuthType', {
  values: { PERSONAL_ACCESS_TOKEN: { value: 'personal_access_token' }, OAUTH: { value: 'oauth' } } as const,
});

export const VcsProviderNode = builder.loadableNode('VCSProvider', {
  description: 'A GitHub or GitLab connection of an organization (inherited by its projects) or of one project.',
  id: { resolve: (provider: ProviderShape) => provider.id },
  load: async (ids: string[], context: GraphQLContext): Promise<ProviderShape[]> => vcsProvidersByIds(context.db.http, await context.caller(), ids),
  sort: (provider) => provider.id,
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    type: t.field({ type: VcsProviderTypeEnum, resolve: (provider) => provider.type satisfies VcsProviderType }),
    url: t.exposeString('url', { description: "The provider's web address (OAuth goes through it)." }),
    apiUrl: t.exposeString('apiUrl', { description: "The provider's REST API." }),
    authType: t.field({ type: VcsAuthTypeEnum, resolve: (provider) => provider.authType satisfies VcsAuthType }),
    oauthClientId: t.exposeString('oauthClientId', { nullable: true }),
    accountName: t.exposeString('accountName', {
      nullable: true,
      description: 'The provider account the token acts as; null until an OAuth authorization finished.',
    }),
    connected: t.boolean({
      description: 'Whether a token is stored (for OAuth: the authorization finished).',
      resolve: (provider) => provider.encryptedAccessToken !== null,
    }),
    tokenExpiresAt: t.field({ type: 'Time', nullable: true, resolve: (provider) => provider.accessTokenExpiresAt }),
    inherited: t.boolean({
      description: "Listed in a project, but the organization's: every project of it inherits the provider.",
      resolve: (provider) => provider.inherited ?? false,
    }),
    organization: t.field({ type: OrganizationNode, resolve: (provider) => provider.organizationId }),
    project: t.field({ type: ProjectNode, nullable: true, resolve: (provider) => provider.projectId }),
    metadata: t.field({ type: ResourceMetadata, resolve: (provider) => ({ ...provider, prn: vcsProviderPrn(provider) }) }),
  }),
});

acceptPrns('vcs_provider', 'VCSProvider', vcsProviderIdsByPath);

builder.objectField(OrganizationNode, 'vcsProviders', (t) =>
  t.field({
    type: [VcsProviderNode],
    description: "The organization's own VCS providers, by name (needs vcs_provider:view).",
    resolve: async (organization, _args, context) => listOrganizationVcsProviders(context.db.http, await context.caller(), organization.id),
  }),
);

builder.objectField(ProjectNode, 'vcsProviders', (t) =>
  t.field({
    type: [VcsProviderNode],
    description: "The project's VCS providers and its organization's (marked inherited), by name.",
    resolve: async (project, _args, context) => listProjectVcsProviders(context.db.http, await context.caller(), project),
  }),
);

const authorizationUrlDescription = 'Where to send the browser to authorize Phobos at the provider (OAuth); the provider sends it back to /auth/vcs/callback.';

builder.relayMutationField(
  'createVCSProvider',
  {
    name: 'CreateVCSProviderInput',
    inputFields: (t) => ({
      organizationId: t.globalID({ for: OrganizationNode, description: "The organization's own provider, inherited by its projects." }),
      projectId: t.globalID({ for: ProjectNode, description: "One project's own provider." }),
      name: t.string({ required: true }),
      description: t.string(),
      type: t.field({ type: VcsProviderTypeEnum, required: true }),
      url: t.string({ description: 'The web address of a self-hosted instance. Default: https://github.com or https://gitlab.com.' }),
      apiUrl: t.string({ description: 'The REST API. Default: https://api.github.com, <url>/api/v3 (GitHub Enterprise) or <url>/api/v4 (GitLab).' }),
      authType: t.field({ type: VcsAuthTypeEnum, required: true }),
      personalAccessToken: t.string({ description: 'PERSONAL_ACCESS_TOKEN: checked against the provider before it is stored.' }),
      oauthClientId: t.string({ description: "OAUTH: the provider's OAuth application, with /auth/vcs/callback as its redirect URI." }),
      oauthClientSecret: t.string(),
    }),
  },
  {
    description: 'Connects a GitHub or GitLab instance to an organization or a project.',
    resolve: async (_root, { input }, context) =>
      createVcsProvider(context.db.http, context.config, await context.caller(), {
        organizationId: input.organizationId?.id,
        projectId: input.projectId?.id,
        name: input.name,
        description: input.description ?? undefined,
        type: input.type,
        url: input.url ?? undefined,
        apiUrl: input.apiUrl ?? undefined,
        authType: input.authType,
        personalAccessToken: input.personalAccessToken ?? undefined,
        oauthClientId: input.oauthClientId ?? undefined,
        oauthClientSecret: input.oauthClientSecret ?? undefined,
      }),
  },
  {
    name: 'CreateVCSProviderPayload',
    outputFields: (t) => ({
      vcsProvider: t.field({ type: VcsProviderNode, resolve: (payload) => payload.provider }),
      oauthAuthorizationUrl: t.string({ nullable: true, description: authorizationUrlDescription, resolve: (payload) => payload.oauthAuthorizationUrl }),
    }),
  },
);

builder.relayMutationField(
  'updateVCSProvider',
  {
    name: 'UpdateVCSProviderInput',
    inputFields: (t) => ({
      id: t.globalID({ for: VcsProviderNode, required: true }),
      metadata: t.field({ type: ResourceMetadataInput }),
      name: t.string(),
      description: t.string(),
      personalAccessToken: t.string({ description: 'A new token (PERSONAL_ACCESS_TOKEN providers), checked like the first.' }),
      oauthClientId: t.string({ description: "Another OAuth application (with its secret): the old one's tokens are dropped." }),
      oauthClientSecret: t.string(),
      reauthorize: t.boolean({ description: 'Start the OAuth authorization again (OAUTH providers).' }),
    }),
  },
  {
    description: 'Renames a VCS provider, changes its description, or rotates its token or OAuth client.',
    resolve: async (_root, { input }, context) =>
      updateVcsProvider(context.db.http, context.config, await context.caller(), input.id.id, {
        version: parseVersion(input.metadata),
        name: input.name ?? undefined,
        description: input.description ?? undefined,
        personalAccessToken: input.personalAccessToken ?? undefined,
        oauthClientId: input.oauthClientId ?? undefined,
        oauthClientSecret: input.oauthClientSecret ?? undefined,
        reauthorize: input.reauthorize ?? undefined,
      }),
  },
  {
    name: 'UpdateVCSProviderPayload',
    outputFields: (t) => ({
      vcsProvider: t.field({ type: VcsProviderNode, resolve: (payload) => payload.provider }),
      oauthAuthorizationUrl: t.string({ nullable: true, description: authorizationUrlDescription, resolve: (payload) => payload.oauthAuthorizationUrl }),
    }),
  },
);

builder.relayMutationField(
  'deleteVCSProvider',
  {
    name: 'DeleteVCSProviderInput',
    inputFields: (t) => ({
      id: t.globalID({ for: VcsProviderNode, required: true }),
      metadata: t.field({ type: ResourceMetadataInput }),
    }),
  },
  {
    description: 'Deletes a VCS provider and its stored tokens.',
    resolve: async (_root, { input }, context) => ({
      provider: await deleteVcsProvider(context.db.http, await context.caller(), input.id.id, { version: parseVersion(input.metadata) }),
    }),
  },
  {
    name: 'DeleteVCSProviderPayload',
    outputFields: (t) => ({
      vcsProvider: t.field({ type: VcsProviderNode, resolve: (payload) => payload.provider }),
    }),
  },
);
