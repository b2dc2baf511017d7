// Teams, as the Phobos API exposes them:
//   query { organization(name: "acme") { teams(first: 20) { edges { node { id name } } } } }
//   query { team(id: "...") { name metadata { prn version } members { edges { node { isMaintainer user { username } } } } } }
//   mutation { createTeam(input: { organizationId: "...", name: "release-crew" }) { team { id } } }
//   mutation { updateTeam(input: { id: "...", name: "releasers", metadata: { version: "1" } }) { team { name } } }
//   mutation { deleteTeam(input: { id: "...", metadata: { version: "2" } }) { team { name } } }
//   mutation { addTeamMember(input: { teamId: "...", userId: "...", isMaintainer: true }) { member { isMaintainer } } }
//   mutation { removeTeamMember(input: { teamId: "...", userId: "..." }) { member { user { username } } } }
//   mutation { setTeamMaintainer(input: { teamId: "...", userId: "...", isMaintainer: false }) { member { isMaintainer } } }
// Who may see and change what (team:view, team:manage, a team's maintainers) is decided in the domain services.
import { addTeamMember, pageTeamMembers, removeTeamMember, setTeamMaintainer, type TeamMemberView } from '../../domain/teams/members';
import { createTeam, deleteTeam, getTeam, pageTeams, teamIdsByPath, teamPrn, teamsByIds, updateTeam, type TeamView } from '../../domain/teams/service';
import { builder } from '../builder';
import { keysetConnection } from '../connections';
import type { GraphQLContext } from '../context';
import { parseVersion, ResourceMetadata, ResourceMetadataInput } from '../metadata';
import { acceptPrns } from '../prns';
import { OrganizationNode } from './organizations';
import { UserNode } from './viewer';

const TeamMemberRef = builder.objectRef<TeamMemberView>('TeamMember').implement({
  description: 'A user in a team; maintainers may add and remove its plain members.',
  fields: (t) => ({
    user: t.field({
      type: UserNode,
      resolve: (member) => ({
        kind: 'user' as const,
        id: member.user.id,
        username: member.user.username,
        email: member.user.email,
        admin: member.user.isAdmin,
      }),
    }),
    isMaintainer: t.exposeBoolean('isMaintainer'),
    addedAt: t.field({ type: 'Time', resolve: (member) => member.createdAt }),
  }),
});

export const TeamNode = builder.loadableNode('Team', {
  description: 'A named set of users of one organization.',
  id: { resolve: (team) => team.id },
  // Every lookup of a request in one query; teams the caller may not see are simply not found.
  load: async (ids: string[], context: GraphQLContext) => teamsByIds(context.db.http, await context.caller(), ids),
  sort: (team) => team.id,
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    metadata: t.field({ type: ResourceMetadata, resolve: (team) => ({ ...team, prn: teamPrn(team) }) }),
    organization: t.field({ type: OrganizationNode, resolve: (team) => team.organizationId }),
    members: t.connection(
      {
        type: TeamMemberRef,
        description: "The team's members by username, maintainers marked.",
        resolve: async (team, args, context) =>
          keysetConnection<TeamMemberView>(
            args,
            (member) => member.user.username,
            async (page) => pageTeamMembers(context.db.http, await context.caller(), team, page),
          ),
      },
      { name: 'TeamMemberConnection' },
      { name: 'TeamMemberEdge' },
    ),
  }),
});

acceptPrns('team', 'Team', teamIdsByPath);

builder.objectField(OrganizationNode, 'teams', (t) =>
  t.connection(
    {
      type: TeamNode,
      description: "The organization's teams by name (needs team:view).",
      resolve: async (organization, args, context) =>
        keysetConnection<TeamView>(
          args,
          (team) => team.name,
          async (page) => pageTeams(context.db.http, await context.caller(), organization.id, page),
        ),
    },
    { name: 'TeamConnection' },
    { name: 'TeamEdge' },
  ),
);

builder.queryField('team', (t) =>
  t.field({
    type: TeamNode,
    description: 'One team, by its global id.',
    args: { id: t.arg.globalID({ for: TeamNode, required: true }) },
    resolve: async (_root, { id }, context) => getTeam(context.db.http, await context.caller(), id.id),
  }),
);

builder.relayMutationField(
  'createTeam',
  {
    name: 'CreateTeamInput',
    inputFields: (t) => ({
      organizationId: t.globalID({ for: OrganizationNode, required: true }),
      name: t.string({ required: true }),
      description: t.string(),
    }),
  },
  {
    description: 'Creates a team in an organization (needs team:manage).',
    resolve: async (_root, { input }, context) => ({
      team: await createTeam(context.db.http, await context.caller(), {
        organizationId: input.organizationId.id,
        name: input.name,
        description: input.description ?? undefined,
      }),
    }),
  },
  {
    name: 'CreateTeamPayload',
    outputFields: (t) => ({
      team: t.field({ type: TeamNode, resolve: (payload) => payload.team }),
    }),
  },
);

builder.relayMutationField(
  'updateTeam',
  {
    name: 'UpdateTeamInput',
    inputFields: (t) => ({
      id: t.globalID({ for: TeamNode, required: true }),
      name: t.string({ description: 'A new name: the team keeps its id and members, its PRN changes.' }),
      description: t.string(),
      metadata: t.field({ type: ResourceMetadataInput }),
    }),
  },
  {
    description: "Renames a team or changes its description (needs team:manage; a team's maintainers may not).",
    resolve: async (_root, { input }, context) => ({
      team: await updateTeam(context.db.http, await context.caller(), input.id.id, {
        name: input.name ?? undefined,
        description: input.description ?? undefined,
        version: parseVersion(input.metadata),
      }),
    }),
  },
  {
    name: 'UpdateTeamPayload',
    outputFields: (t) => ({
      team: t.field({ type: TeamNode, resolve: (payload) => payload.team }),
    }),
  },
);

builder.relayMutationField(
  'deleteTeam',
  {
    name: 'DeleteTeamInput',
    inputFields: (t) => ({
      id: t.globalID({ for: TeamNode, required: true }),
      metadata: t.field({ type: ResourceMetadataInput }),
    }),
  },
  {
    description: 'Deletes a team and its member list (needs team:manage); returns the team as it was.',
    resolve: async (_root, { input }, context) => ({
      team: await deleteTeam(context.db.http, await context.caller(), input.id.id, { version: parseVersion(input.metadata) }),
    }),
  },
  {
    name: 'DeleteTeamPayload',
    outputFields: (t) => ({
      team: t.field({ type: TeamNode, resolve: (payload) => payload.team }),
    }),
  },
);

builder.relayMutationField(
  'addTeamMember',
  {
    name: 'AddTeamMemberInput',
    inputFields: (t) => ({
      teamId: t.globalID({ for: TeamNode, required: true }),
      userId: t.globalID({ for: UserNode, required: true }),
      isMaintainer: t.boolean({ description: 'Make the user a maintainer (needs team:manage). Default false.' }),
    }),
  },
  {
    description: "Adds a user to a team (needs team:manage, or being one of the team's maintainers).",
    resolve: async (_root, { input }, context) =>
      addTeamMember(context.db.http, await context.caller(), {
        teamId: input.teamId.id,
        userId: input.userId.id,
        isMaintainer: input.isMaintainer ?? undefined,
      }),
  },
  {
    name: 'AddTeamMemberPayload',
    outputFields: (t) => ({
      team: t.field({ type: TeamNode, resolve: (payload) => payload.team }),
      member: t.field({ type: TeamMemberRef, resolve: (payload) => payload.member }),
    }),
  },
);

builder.relayMutationField(
  'removeTeamMember',
  {
    name: 'RemoveTeamMemberInput',
    inputFields: (t) => ({
      teamId: t.globalID({ for: TeamNode, required: true }),
      userId: t.globalID({ for: UserNode, required: true }),
    }),
  },
  {
    description:
      "Removes a user from a team (needs team:manage, or being one of the team's maintainers for a member who is not one); returns the member as it was.",
    resolve: async (_root, { input }, context) =>
      removeTeamMember(context.db.http, await context.caller(), { teamId: input.teamId.id, userId: input.userId.id }),
  },
  {
    name: 'RemoveTeamMemberPayload',
    outputFields: (t) => ({
      team: t.field({ type: TeamNode, resolve: (payload) => payload.team }),
      member: t.field({ type: TeamMemberRef, resolve: (payload) => payload.member }),
    }),
  },
);

builder.relayMutationField(
  'setTeamMaintainer',
  {
    name: 'SetTeamMaintainerInput',
    inputFields: (t) => ({
      teamId: t.globalID({ for: TeamNode, required: true }),
      userId: t.globalID({ for: UserNode, required: true }),
      isMaintainer: t.boolean({ required: true }),
    }),
  },
  {
    description: 'Makes a member of a team its maintainer, or a plain member again (needs team:manage).',
    resolve: async (_root, { input }, context) =>
      setTeamMaintainer(context.db.http, await context.caller(), { teamId: input.teamId.id, userId: input.userId.id, isMaintainer: input.isMaintainer }),
  },
  {
    name: 'SetTeamMaintainerPayload',
    outputFields: (t) => ({
      team: t.field({ type: TeamNode, resolve: (payload) => payload.team }),
      member: t.field({ type: TeamMemberRef, resolve: (payload) => payload.member }),
    }),
  },
);
