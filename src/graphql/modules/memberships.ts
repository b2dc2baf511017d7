// Memberships, as the Phobos API exposes them:
//   query { organization(name: "acme") { memberships { id role roleId userId teamId serviceAccountId projectId metadata { version } } } }
//   query { project(id: "...") { memberships { id role inherited } } }
//   mutation { addOrganizationMember(input: { organizationId: "...", userId: "...", role: "viewer" }) { membership { id role } } }
//   mutation { updateMembership(input: { id: "...", role: "developer", metadata: { version: "1" } }) { membership { id role } } }
//   mutation { removeOrganizationMember(input: { id: "<membership id>" }) { membership { id } } }
// Who may see and change what, and the last-owner rule, are decided in the domain service.
import {
  addMember,
  listMembers,
  listProjectMembers,
  membershipIdsByPath,
  membershipPrn,
  membershipsByIds,
  removeMember,
  updateMembership,
  type MembershipView,
} from '../../domain/memberships/service';
import { builder } from '../builder';
import type { GraphQLContext } from '../context';
import { parseVersion, ResourceMetadata, ResourceMetadataInput } from '../metadata';
import { acceptPrns } from '../prns';
import { OrganizationNode } from './organizations';
import { ProjectNode } from './projects';
import { TeamNode } from './teams';
import { ServiceAccountNode, UserNode } from './viewer';

const MembershipRef = builder.loadableNode('Membership', {
  description: 'A role held by a user, a team or a service account in an organization or one of its projects.',
  id: { resolve: (membership: MembershipView) => membership.id },
  // Every lookup of a request in one query; memberships the caller may not see are not found.
  load: async (ids: string[], context: GraphQLContext) => membershipsByIds(context.db.http, await context.caller(), ids),
  sort: (membership) => membership.id,
  fields: (t) => ({
    role: t.exposeString('role', { description: "The role's name." }),
    roleId: t.globalID({ resolve: (membership) => ({ type: 'Role', id: membership.roleId }) }),
    organizationId: t.globalID({ resolve: (membership) => ({ type: 'Organization', id: membership.organizationId }) }),
    projectId: t.globalID({ nullable: true, resolve: (membership) => (membership.projectId ? { type: 'Project', id: membership.projectId } : null) }),
    userId: t.globalID({ nullable: true, resolve: (membership) => (membership.userId ? { type: 'User', id: membership.userId } : null) }),
    teamId: t.globalID({ nullable: true, resolve: (membership) => (membership.teamId ? { type: 'Team', id: membership.teamId } : null) }),
    serviceAccountId: t.globalID({
      nullable: true,
      resolve: (membership) => (membership.serviceAccountId ? { type: 'ServiceAccount', id: membership.serviceAccountId } : null),
    }),
    inherited: t.exposeBoolean('inherited', { description: 'Listed for a project but held on its organization: it applies in every project.' }),
    metadata: t.field({ type: ResourceMetadata, resolve: (membership) => ({ ...membership, prn: membershipPrn(membership) }) }),
  }),
});

acceptPrns('membership', 'Membership', membershipIdsByPath);

builder.objectField(OrganizationNode, 'memberships', (t) =>
  t.field({
    type: [MembershipRef],
    description: 'Who holds which role in the organization and its projects (needs membership:view).',
    resolve: async (organization, _args, context) => listMembers(context.db.http, await context.caller(), organization.id),
  }),
);

builder.objectField(ProjectNode, 'memberships', (t) =>
  t.field({
    type: [MembershipRef],
    description: "The project's own memberships and its organization's, which it inherits (marked `inherited`); needs membership:view.",
    resolve: async (project, _args, context) => listProjectMembers(context.db.http, await context.caller(), project),
  }),
);

builder.relayMutationField(
  'addOrganizationMember',
  {
    name: 'AddOrganizationMemberInput',
    inputFields: (t) => ({
      organizationId: t.globalID({ for: OrganizationNode, required: true }),
      projectId: t.globalID({ for: ProjectNode, description: 'Bind the role in this project only.' }),
      userId: t.globalID({ for: UserNode }),
      teamId: t.globalID({ for: TeamNode, description: 'A team of the organization: every member of it holds the role.' }),
      serviceAccountId: t.globalID({ for: ServiceAccountNode }),
      role: t.string({ required: true, description: "A role's name (see `roles`)." }),
    }),
  },
  {
    description: 'Gives a user, a team or a service account a role in an organization or one of its projects.',
    resolve: async (_root, { input }, context) => {
      return {
        membership: await addMember(context.db.http, await context.caller(), {
          organizationId: input.organizationId.id,
          projectId: input.projectId?.id,
          userId: input.userId?.id,
          teamId: input.teamId?.id,
          serviceAccountId: input.serviceAccountId?.id,
          role: input.role,
        }),
      };
    },
  },
  {
    name: 'AddOrganizationMemberPayload',
    outputFields: (t) => ({
      membership: t.field({ type: MembershipRef, resolve: (payload) => payload.membership }),
    }),
  },
);

builder.relayMutationField(
  'updateMembership',
  {
    name: 'UpdateMembershipInput',
    inputFields: (t) => ({
      id: t.globalID({ for: MembershipRef, required: true }),
      role: t.string({ required: true, description: "The new role's name." }),
      metadata: t.field({ type: ResourceMetadataInput }),
    }),
  },
  {
    description: "Changes a membership's role. The organization's last owner keeps the owner role.",
    resolve: async (_root, { input }, context) => ({
      membership: await updateMembership(context.db.http, await context.caller(), {
        id: input.id.id,
        role: input.role,
        version: parseVersion(input.metadata),
      }),
    }),
  },
  {
    name: 'UpdateMembershipPayload',
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
      metadata: t.field({ type: ResourceMetadataInput }),
    }),
  },
  {
    description: "Takes a role away from a user, a team or a service account. The organization's last owner stays.",
    resolve: async (_root, { input }, context) => ({
      membership: await removeMember(context.db.http, await context.caller(), { id: input.id.id, version: parseVersion(input.metadata) }),
    }),
  },
  {
    name: 'RemoveOrganizationMemberPayload',
    outputFields: (t) => ({
      membership: t.field({ type: MembershipRef, resolve: (payload) => payload.membership }),
    }),
  },
);
