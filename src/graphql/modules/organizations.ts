// Organizations, as the Phobos API exposes them:
//   query { organization(name: "acme") { id name description metadata { version } } }
//   query { organizations { id name } }
//   query { organization(name: "acme") { memberships { id role userId serviceAccountId projectId } } }
//   mutation { createOrganization(input: { name: "acme" }) { organization { id } } }
//   mutation { updateOrganization(input: { id: "...", description: "...", metadata: { version: "3" } }) { organization { id } } }
//   mutation { deleteOrganization(input: { id: "prn:organization:acme", metadata: { version: "4" } }) { organization { id } } }
//   mutation { addOrganizationMember(input: { organizationId: "...", userId: "...", role: "viewer" }) { membership { id role } } }
//   mutation { removeOrganizationMember(input: { id: "<membership id>" }) { membership { id } } }
// Who may see and change what is decided in the domain services.
import type { Membership } from '../../db/schema';
import { addMember, listMembers, removeMember } from '../../domain/memberships/service';
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
import { builder } from '../builder';
import type { GraphQLContext } from '../context';
import { ProjectNode } from './projects';
import { ServiceAccountNode, UserNode } from './viewer';
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
  }),
});

acceptPrns('organization', 'Organization', (db, paths) =>
  organizationIdsByName(
    db,
    paths.filter((path) => path.length === 1).map(([name]) => name!),
  ),
);

const MembershipRef = builder.objectRef<Membership>('Membership').implement({
  description: 'A role held by a user or service account in an organization or one of its projects.',
  fields: (t) => ({
    id: t.globalID({ resolve: (membership) => ({ type: 'Membership', id: membership.id }) }),
    role: t.exposeString('role'),
    organizationId: t.globalID({ resolve: (membership) => ({ type: 'Organization', id: membership.organizationId }) }),
    projectId: t.globalID({ nullable: true, resolve: (membership) => (membership.projectId ? { type: 'Project', id: membership.projectId } : null) }),
    userId: t.globalID({ nullable: true, resolve: (membership) => (membership.userId ? { type: 'User', id: membership.userId } : null) }),
    serviceAccountId: t.globalID({
      nullable: true,
      resolve: (membership) => (membership.serviceAccountId ? { type: 'ServiceAccount', id: membership.serviceAccountId } : null),
    }),
  }),
});

builder.objectField(OrganizationNode, 'memberships', (t) =>
  t.field({
    type: [MembershipRef],
    description: 'Who holds which role in the organization and its projects (needs membership:view).',
    resolve: async (organization, _args, context) => listMembers(context.db.http, await context.caller(), organization.id),
  }),
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

builder.relayMutationField(
  'addOrganizationMember',
  {
    name: 'AddOrganizationMemberInput',
    inputFields: (t) => ({
      organizationId: t.globalID({ for: OrganizationNode, required: true }),
      projectId: t.globalID({ for: ProjectNode, description: 'Bind the role in this project only.' }),
      userId: t.globalID({ for: UserNode }),
      serviceAccountId: t.globalID({ for: ServiceAccountNode }),
      role: t.string({ required: true }),
    }),
  },
  {
    description: 'Gives a user or service account a role in an organization or one of its projects.',
    resolve: async (_root, { input }, context) => ({
      membership: await addMember(context.db.http, await context.caller(), {
        organizationId: input.organizationId.id,
        projectId: input.projectId?.id,
        userId: input.userId?.id,
        serviceAccountId: input.serviceAccountId?.id,
        role: input.role,
      }),
    }),
  },
  {
    name: 'AddOrganizationMemberPayload',
    outputFields: (t) => ({
      membership: t.field({ type: MembershipRef, resolve: (payload) => payload.membership }),
    }),
  },
);

builder.relayMutationField(
  'removeOrganizationMember',
  {
    name: 'RemoveOrganizationMemberInput',
    inputFields: (t) => ({
      id: t.globalID({ for: MembershipRef, required: true, description: 'The membership to remove.' }),
    }),
  },
  {
    description: 'Takes a role away from a user or service account.',
    resolve: async (_root, { input }, context) => ({
      membership: await removeMember(context.db.http, await context.caller(), input.id.id),
    }),
  },
  {
    name: 'RemoveOrganizationMemberPayload',
    outputFields: (t) => ({
      membership: t.field({ type: MembershipRef, resolve: (payload) => payload.membership }),
    }),
  },
);
