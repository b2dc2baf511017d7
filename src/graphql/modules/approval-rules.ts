// Approval rules, organization- or project-level, addressed by PRN:
//   query { approvalRule(prn: "prn:approval_rule:acme/admins") { id name approvalsRequired principals { userIds teams serviceAccountIds } } }
//   query { organization(name: "acme") { approvalRules { id name metadata { prn version } } } }
//   query { project(id: "...") { approvalRules { id name } } }
//   mutation { createApprovalRule(input: { organizationId: "...", name: "admins", approvalsRequired: 2,
//     principals: { teams: ["sre"], userIds: ["..."] } }) { approvalRule { id metadata { prn } } } }
//   mutation { updateApprovalRule(input: { id: "...", approvalsRequired: 1, metadata: { version: "1" } }) { approvalRule { id } } }
//   mutation { deleteApprovalRule(input: { id: "...", metadata: { version: "2" } }) { approvalRule { id } } }
// Who may see and change them is decided in the domain service.
import {
  approvalRuleByPrn,
  approvalRuleIdsByPath,
  approvalRulesByIds,
  createApprovalRule,
  deleteApprovalRule,
  listApprovalRules,
  updateApprovalRule,
  type ApprovalRuleView,
} from '../../domain/approval-rules/service';
import { builder } from '../builder';
import type { GraphQLContext } from '../context';
import { parseVersion, ResourceMetadata, ResourceMetadataInput } from '../metadata';
import { acceptPrns } from '../prns';
import { OrganizationNode } from './organizations';
import { ProjectNode } from './projects';
import { ServiceAccountNode, UserNode } from './viewer';

const ApprovalRulePrincipalsRef = builder.objectRef<ApprovalRuleView>('ApprovalRulePrincipals').implement({
  description: 'Who may approve: named users, members of named teams, named service accounts.',
  fields: (t) => ({
    userIds: t.globalIDList({ resolve: (rule) => rule.userIds.map((id) => ({ type: 'User', id })) }),
    teams: t.stringList({ description: "Team names, in the rule's organization.", resolve: (rule) => rule.teamNames }),
    serviceAccountIds: t.globalIDList({ resolve: (rule) => rule.serviceAccountIds.map((id) => ({ type: 'ServiceAccount', id })) }),
  }),
});

export const ApprovalRuleNode = builder.loadableNode('ApprovalRule', {
  description: 'Who may approve, and how many approvals are required; templates refer to it by its PRN.',
  id: { resolve: (rule) => rule.id },
  load: async (ids: string[], context: GraphQLContext) => approvalRulesByIds(context.db.http, await context.caller(), ids),
  sort: (rule) => rule.id,
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    approvalsRequired: t.exposeInt('approvalsRequired'),
    principals: t.field({ type: ApprovalRulePrincipalsRef, resolve: (rule) => rule }),
    organization: t.field({ type: OrganizationNode, resolve: (rule) => rule.organizationId }),
    project: t.field({ type: ProjectNode, nullable: true, description: 'Null for an organization-level rule.', resolve: (rule) => rule.projectId }),
    metadata: t.field({
      type: ResourceMetadata,
      description: 'prn:approval_rule:<organization>/<name>, or prn:approval_rule:<organization>/<project>/<name> for a project-level rule.',
      resolve: (rule) => rule,
    }),
  }),
});

acceptPrns('approval_rule', 'ApprovalRule', approvalRuleIdsByPath);

const ApprovalRulePrincipalsInput = builder.inputType('ApprovalRulePrincipalsInput', {
  description: 'Who may approve; at least one entry in all.',
  fields: (t) => ({
    userIds: t.globalIDList({ for: UserNode }),
    teams: t.stringList({ description: "Team names, in the rule's organization." }),
    serviceAccountIds: t.globalIDList({ for: ServiceAccountNode }),
  }),
});

function principalsOf(input: { userIds?: { id: string }[] | null; teams?: string[] | null; serviceAccountIds?: { id: string }[] | null }) {
  return {
    userIds: input.userIds?.map((user) => user.id),
    teams: input.teams ?? undefined,
    serviceAccountIds: input.serviceAccountIds?.map((account) => account.id),
  };
}

builder.objectField(OrganizationNode, 'approvalRules', (t) =>
  t.field({
    type: [ApprovalRuleNode],
    description: "The organization-level approval rules, by name (needs approval_rule:view); projects' own rules are listed on them.",
    resolve: async (organization, _args, context) => listApprovalRules(context.db.http, await context.caller(), { organizationId: organization.id }),
  }),
);

builder.objectField(ProjectNode, 'approvalRules', (t) =>
  t.field({
    type: [ApprovalRuleNode],
    description: "The project's own approval rules, by name (needs approval_rule:view in the project).",
    resolve: async (project, _args, context) =>
      listApprovalRules(context.db.http, await context.caller(), { organizationId: project.organizationId, projectId: project.id }),
  }),
);

builder.queryField('approvalRule', (t) =>
  t.field({
    type: ApprovalRuleNode,
    description: 'One approval rule, by PRN: prn:approval_rule:<organization>/<name> or prn:approval_rule:<organization>/<project>/<name>.',
    args: { prn: t.arg.string({ required: true }) },
    resolve: async (_root, { prn }, context) => approvalRuleByPrn(context.db.http, await context.caller(), prn),
  }),
);

builder.relayMutationField(
  'createApprovalRule',
  {
    name: 'CreateApprovalRuleInput',
    inputFields: (t) => ({
      organizationId: t.globalID({ for: OrganizationNode, required: true }),
      projectId: t.globalID({ for: ProjectNode, description: 'Make it a rule of this project only.' }),
      name: t.string({ required: true }),
      description: t.string(),
      approvalsRequired: t.int({ required: true, description: 'From 1 to the number of principals named.' }),
      principals: t.field({ type: ApprovalRulePrincipalsInput, required: true }),
    }),
  },
  {
    description: 'Creates an approval rule in an organization or one of its projects.',
    resolve: async (_root, { input }, context) => ({
      approvalRule: await createApprovalRule(context.db.http, await context.caller(), {
        organizationId: input.organizationId.id,
        projectId: input.projectId?.id,
        name: input.name,
        description: input.description ?? undefined,
        approvalsRequired: input.approvalsRequired,
        principals: principalsOf(input.principals),
      }),
    }),
  },
  {
    name: 'CreateApprovalRulePayload',
    outputFields: (t) => ({
      approvalRule: t.field({ type: ApprovalRuleNode, resolve: (payload) => payload.approvalRule }),
    }),
  },
);

builder.relayMutationField(
  'updateApprovalRule',
  {
    name: 'UpdateApprovalRuleInput',
    inputFields: (t) => ({
      id: t.globalID({ for: ApprovalRuleNode, required: true }),
      description: t.string(),
      approvalsRequired: t.int(),
      principals: t.field({ type: ApprovalRulePrincipalsInput, description: "Replaces the rule's principals." }),
      metadata: t.field({ type: ResourceMetadataInput }),
    }),
  },
  {
    description: "Changes an approval rule's description, principals or approvals required (its name is fixed: templates refer to it).",
    resolve: async (_root, { input }, context) => ({
      approvalRule: await updateApprovalRule(context.db.http, await context.caller(), input.id.id, {
        description: input.description ?? undefined,
        approvalsRequired: input.approvalsRequired ?? undefined,
        principals: input.principals ? principalsOf(input.principals) : undefined,
        version: parseVersion(input.metadata),
      }),
    }),
  },
  {
    name: 'UpdateApprovalRulePayload',
    outputFields: (t) => ({
      approvalRule: t.field({ type: ApprovalRuleNode, resolve: (payload) => payload.approvalRule }),
    }),
  },
);

builder.relayMutationField(
  'deleteApprovalRule',
  {
    name: 'DeleteApprovalRuleInput',
    inputFields: (t) => ({
      id: t.globalID({ for: ApprovalRuleNode, required: true }),
      metadata: t.field({ type: ResourceMetadataInput }),
    }),
  },
  {
    description: 'Deletes an approval rule.',
    resolve: async (_root, { input }, context) => ({
      approvalRule: await deleteApprovalRule(context.db.http, await context.caller(), input.id.id, { version: parseVersion(input.metadata) }),
    }),
  },
  {
    name: 'DeleteApprovalRulePayload',
    outputFields: (t) => ({
      approvalRule: t.field({ type: ApprovalRuleNode, resolve: (payload) => payload.approvalRule }),
    }),
  },
);
