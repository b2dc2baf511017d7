// Organizations, as the Phobos API exposes them:
//   query { organization(name: "acme") { id name description metadata { version } } }
//   query { organizations { id name } }
//   query { organization(name: "acme") { viewerPermissions } }   (what the caller may do there)
//   mutation { createOrganization(input: { name: "acme" }) { organization { id } } }
//   mutation { updateOrganization(input: { id: "...", description: "...", metadata: { version: "3" } }) { organization { id } } }
//   mutation { deleteOrganization(input: { id: "prn:organization:acme", metadata: { version: "4" } }) { organization { id } } }
// Who may see and change what is decided in the domain services. Its memberships: memberships.ts.
import {
  createOrganization,
  deleteOrganization,
  getOrganizationByName,
  listOrganizations,
  organizationIdsByName,
  organizationPrn,
  organizationsByIds,
  updateOrganization,
} from '../../domain/organizations/service';
import { permissionsHeld } from '../../auth/rbac';
import { builder } from '../builder';
import type { GraphQLContext } from '../context';
import { parseVersion, ResourceMetadata, ResourceMetadataInput } from '../metadata';
import { acceptPrns } from '../prns';

export const OrganizationNode = builder.loadableNode('Organization', {
  description: 'A tenant: it owns projects, service accounts and role bindings.',
  id: { resolve: (organization) => organization.id },
  load: async (ids: string[], context: GraphQLContext) => organizationsByIds(context.db.http, await context.caller(), ids),
  sort: (organization) => organization.id,
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    metadata: t.field({ type: ResourceMetadata, resolve: (organization) => ({ ...organization, prn: organizationPrn(organization) }) }),
    viewerPermissions: t.stringList({
      description:
        'The permissions (`resource:action`) the caller holds on the organization itself, as authorization decides them; a project may grant more (Project.viewerPermissions). For clients to hide what the caller may not do: the API enforces it regardless.',
      resolve: async (organization, _args, context) => permissionsHeld(await context.caller(), { organizationId: organization.id }),
    }),
  }),
});

acceptPrns('organization', 'Organization', (db, paths) =>
  organizationIdsByName(
    db,
    paths.filter((path) => path.length === 1).map(([name]) => name!),
  ),
);

builder.queryFields((t) => ({
  organization: t.field({
    type: OrganizationNode,
    description: 'One organization, by name.',
    args: { name: t.arg.string({ required: true }) },
    resolve: async (_root, { name }, context) => getOrganizationByName(context.db.http, await context.caller(), name),
  }),
  organizations: t.field({
    type: [OrganizationNode],
    description: 'The organizations the caller can see, by name.',
    resolve: async (_root, _args, context) => listOrganizations(context.db.http, await context.caller()),
  }),
}));

builder.relayMutationField(
  'createOrganization',
  {
    name: 'CreateOrganizationInput',
    inputFields: (t) => ({
      name: t.string({ required: true }),
      description: t.string(),
    }),
  },
  {
    description: 'Creates an organization; the creator becomes its owner. System administrators only.',
    resolve: async (_root, { input }, context) => ({
      organization: await createOrganization(context.db.http, await context.caller(), {
        name: input.name,
        description: input.description ?? undefined,
      }),
    }),
  },
  {
    name: 'CreateOrganizationPayload',
    outputFields: (t) => ({
      organization: t.field({ type: OrganizationNode, resolve: (payload) => payload.organization }),
    }),
  },
);

builder.relayMutationField(
  'updateOrganization',
  {
    name: 'UpdateOrganizationInput',
    inputFields: (t) => ({
      id: t.globalID({ for: OrganizationNode, required: true }),
      description: t.string(),
      metadata: t.field({ type: ResourceMetadataInput }),
    }),
  },
  {
    description: "Changes an organization's description.",
    resolve: async (_root, { input }, context) => ({
      organization: await updateOrganization(context.db.http, await context.caller(), input.id.id, {
        description: input.description ?? undefined,
        version: parseVersion(input.metadata),
      }),
    }),
  },
  {
    name: 'UpdateOrganizationPayload',
    outputFields: (t) => ({
      organization: t.field({ type: OrganizationNode, resolve: (payload) => payload.organization }),
    }),
  },
);

builder.relayMutationField(
  'deleteOrganization',
  {
    name: 'DeleteOrganizationInput',
    inputFields: (t) => ({
      id: t.globalID({ for: OrganizationNode, required: true }),
      metadata: t.field({ type: ResourceMetadataInput }),
    }),
  },
  {
    description: 'Deletes an organization and everything it owns.',
    resolve: async (_root, { input }, context) => ({
      organization: await deleteOrganization(context.db.http, await context.caller(), input.id.id, { version: parseVersion(input.metadata) }),
    }),
  },
  {
    name: 'DeleteOrganizationPayload',
    outputFields: (t) => ({
      organization: t.field({ type: OrganizationNode, resolve: (payload) => payload.organization }),
    }),
  },
);
