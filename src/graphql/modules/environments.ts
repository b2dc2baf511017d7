// Environments and their protection rules:
//   query { project(id: "...") { environments { id name description latestDeployment { id } metadata { prn version } } } }
//   query { project(id: "...") { environmentProtectionRules { id environmentPattern principals { userIds teams serviceAccountIds roles } } } }
//   mutation { createEnvironment(input: { projectId: "...", name: "prod" }) { environment { id metadata { prn } } } }
//   mutation { updateEnvironment(input: { id: "...", description: "...", metadata: { version: "1" } }) { environment { id } } }
//   mutation { deleteEnvironment(input: { id: "...", metadata: { version: "2" } }) { environment { id deletedAt } } }
//   mutation { createEnvironmentProtectionRule(input: { projectId: "...", environmentPattern: "prod-*",
//     principals: { teams: ["sre"], roles: ["release_manager"] } }) { environmentProtectionRule { id } } }
//   mutation { updateEnvironmentProtectionRule(input: { id: "...", principals: { userIds: ["..."] }, metadata: { version: "1" } }) { … } }
//   mutation { deleteEnvironmentProtectionRule(input: { id: "...", metadata: { version: "1" } }) { … } }
// Who may see and change them is decided in the domain services.
import {
  createProtectionRule,
  deleteProtectionRule,
  listProtectionRules,
  protectionRuleIdsByPath,
  protectionRulesByIds,
  updateProtectionRule,
  type ProtectionRuleView,
} from '../../domain/environments/protection-rules';
import {
  createEnvironment,
  deleteEnvironment,
  environmentIdsByPath,
  environmentsByIds,
  listEnvironments,
  updateEnvironment,
} from '../../domain/environments/service';
import { latestDeployments, type DeploymentView } from '../../domain/pipelines/deployments';
import { AppError } from '../../errors';
import { builder } from '../builder';
import type { GraphQLContext } from '../context';
import { parseVersion, ResourceMetadata, ResourceMetadataInput } from '../metadata';
import { acceptPrns } from '../prns';
import { ProjectNode } from './projects';
import { ServiceAccountNode, UserNode } from './viewer';

interface DeploymentSummary {
  id: string;
  status: string;
  completedAt: Date | null;
  releaseId: string | null;
}

export const EnvironmentDeploymentRef = builder.objectRef<DeploymentSummary>('EnvironmentDeployment').implement({
  description: 'A deployment to an environment, as its environment lists it.',
  fields: (t) => ({
    id: t.exposeID('id'),
    status: t.exposeString('status'),
    completedAt: t.field({ type: 'Time', nullable: true, resolve: (deployment) => deployment.completedAt }),
  }),
});

export const EnvironmentNode = builder.loadableNode('Environment', {
  description: 'A named deployment target of a project (e.g. an AWS account). Deployments create one the first time they target its name.',
  id: { resolve: (environment) => environment.id },
  // Every lookup of a request in one query; deleted environments and those the caller may not see are not found.
  load: async (ids: string[], context: GraphQLContext) => environmentsByIds(context.db.http, await context.caller(), ids),
  sort: (environment) => environment.id,
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    metadata: t.field({ type: ResourceMetadata, description: 'prn:environment:<organization>/<project>/<environment>', resolve: (environment) => environment }),
    project: t.field({ type: ProjectNode, resolve: (environment) => environment.projectId }),
    deletedAt: t.field({
      type: 'Time',
      nullable: true,
      description: 'When it was deleted (shown by deleteEnvironment; deleted environments are otherwise not listed).',
      resolve: (environment) => environment.deletedAt,
    }),
    latestDeployment: t.loadable({
      type: EnvironmentDeploymentRef,
      nullable: true,
      description:
        'The latest completed deployment (SUCCEEDED, FAILED or CANCELED) to this environment; null when there is none or the caller may not see pipelines.',
      // Keys `<project id>/<environment name>`: one query per project, whatever the number of environments.
      load: async (keys: string[], context: GraphQLContext) => {
        const caller = await context.caller();
        const byProject = new Map<string, string[]>();
        for (const key of keys) {
          const [projectId, name] = key.split('/') as [string, string];
          byProject.set(projectId, [...(byProject.get(projectId) ?? []), name]);
        }
        const found = new Map<string, DeploymentSummary>();
        for (const [projectId, names] of byProject) {
          const latest = await latestDeployments(context.db.http, caller, projectId, names).catch((error: unknown) => {
            if (error instanceof AppError && (error.code === 'FORBIDDEN' || error.code === 'NOT_FOUND')) return new Map<string, DeploymentView>();
            throw error;
          });
          for (const [name, deployment] of latest) {
            found.set(`${projectId}/${name}`, {
              id: deployment.pipelineId,
              status: deployment.status,
              completedAt: deployment.completedAt,
              releaseId: deployment.releaseId,
            });
          }
        }
        return keys.map((key) => found.get(key) ?? null);
      },
      resolve: (environment) => `${environment.projectId}/${environment.name}`,
    }),
  }),
});

// Live environments only: a deleted one's name may already be taken again.
acceptPrns('environment', 'Environment', environmentIdsByPath);

const ProtectionRulePrincipalsRef = builder.objectRef<ProtectionRuleView>('EnvironmentProtectionRulePrincipals').implement({
  description: 'Who a protection rule lets deploy: named users, members of named teams, named service accounts, holders of named roles.',
  fields: (t) => ({
    userIds: t.globalIDList({ resolve: (rule) => rule.userIds.map((id) => ({ type: 'User', id })) }),
    teams: t.stringList({ description: "Team names, in the rule's organization.", resolve: (rule) => rule.teamNames }),
    serviceAccountIds: t.globalIDList({ resolve: (rule) => rule.serviceAccountIds.map((id) => ({ type: 'ServiceAccount', id })) }),
    roles: t.stringList({ description: 'Role names, held in the project or inherited from its organization.', resolve: (rule) => rule.roleNames }),
  }),
});

const EnvironmentProtectionRuleNode = builder.loadableNode('EnvironmentProtectionRule', {
  description:
    'Who may deploy to the environments of a project whose name matches a pattern. A deployer must be named by every rule that matches; ' +
    'without a matching rule, pipeline:execute on the project is enough.',
  id: { resolve: (rule) => rule.id },
  load: async (ids: string[], context: GraphQLContext) => protectionRulesByIds(context.db.http, await context.caller(), ids),
  sort: (rule) => rule.id,
  fields: (t) => ({
    environmentPattern: t.exposeString('environmentPattern', {
      description: 'An environment name (prod) or a glob: * matches any characters, ? one (prod-*).',
    }),
    principals: t.field({ type: ProtectionRulePrincipalsRef, resolve: (rule) => rule }),
    project: t.field({ type: ProjectNode, resolve: (rule) => rule.projectId }),
    metadata: t.field({ type: ResourceMetadata, resolve: (rule) => rule }),
  }),
});

acceptPrns('environment_protection_rule', 'EnvironmentProtectionRule', protectionRuleIdsByPath);

const ProtectionRulePrincipalsInput = builder.inputType('EnvironmentProtectionRulePrincipalsInput', {
  description: 'Who may deploy; at least one entry in all.',
  fields: (t) => ({
    userIds: t.globalIDList({ for: UserNode }),
    teams: t.stringList({ description: "Team names, in the project's organization." }),
    serviceAccountIds: t.globalIDList({ for: ServiceAccountNode }),
    roles: t.stringList({ description: 'Role names: built-in (owner, release_manager, developer, viewer) or custom (see `roles`).' }),
  }),
});

type PrincipalsArgument = {
  userIds?: { id: string }[] | null;
  teams?: string[] | null;
  serviceAccountIds?: { id: string }[] | null;
  roles?: string[] | null;
};

function principalsOf(input: PrincipalsArgument) {
  return {
    userIds: input.userIds?.map((user) => user.id),
    teams: input.teams ?? undefined,
    serviceAccountIds: input.serviceAccountIds?.map((account) => account.id),
    roles: input.roles ?? undefined,
  };
}

builder.objectFields(ProjectNode, (t) => ({
  environments: t.field({
    type: [EnvironmentNode],
    description: "The project's environments, by name (needs environment:view). Deleted ones are not listed.",
    resolve: async (project, _args, context) => listEnvironments(context.db.http, await context.caller(), project.id),
  }),
  environmentProtectionRules: t.field({
    type: [EnvironmentProtectionRuleNode],
    description: "The project's environment protection rules, by pattern (needs environment:view).",
    resolve: async (project, _args, context) => listProtectionRules(context.db.http, await context.caller(), project.id),
  }),
}));

builder.relayMutationField(
  'createEnvironment',
  {
    name: 'CreateEnvironmentInput',
    inputFields: (t) => ({
      projectId: t.globalID({ for: ProjectNode, required: true }),
      name: t.string({ required: true }),
      description: t.string(),
    }),
  },
  {
    description: 'Creates an environment in a project.',
    resolve: async (_root, { input }, context) => ({
      environment: await createEnvironment(context.db.http, await context.caller(), {
        projectId: input.projectId.id,
        name: input.name,
        description: input.description ?? undefined,
      }),
    }),
  },
  {
    name: 'CreateEnvironmentPayload',
    outputFields: (t) => ({
      environment: t.field({ type: EnvironmentNode, resolve: (payload) => payload.environment }),
    }),
  },
);

builder.relayMutationField(
  'updateEnvironment',
  {
    name: 'UpdateEnvironmentInput',
    inputFields: (t) => ({
      id: t.globalID({ for: EnvironmentNode, required: true }),
      description: t.string(),
      metadata: t.field({ type: ResourceMetadataInput }),
    }),
  },
  {
    description: "Changes an environment's description.",
    resolve: async (_root, { input }, context) => ({
      environment: await updateEnvironment(context.db.http, await context.caller(), input.id.id, {
        description: input.description ?? undefined,
        version: parseVersion(input.metadata),
      }),
    }),
  },
  {
    name: 'UpdateEnvironmentPayload',
    outputFields: (t) => ({
      environment: t.field({ type: EnvironmentNode, resolve: (payload) => payload.environment }),
    }),
  },
);

builder.relayMutationField(
  'deleteEnvironment',
  {
    name: 'DeleteEnvironmentInput',
    inputFields: (t) => ({
      id: t.globalID({ for: EnvironmentNode, required: true }),
      metadata: t.field({ type: ResourceMetadataInput }),
    }),
  },
  {
    description: 'Deletes an environment. Its history stays (activity, deployments); its name may be used again.',
    resolve: async (_root, { input }, context) => ({
      environment: await deleteEnvironment(context.db.http, await context.caller(), input.id.id, { version: parseVersion(input.metadata) }),
    }),
  },
  {
    name: 'DeleteEnvironmentPayload',
    outputFields: (t) => ({
      environment: t.field({ type: EnvironmentNode, resolve: (payload) => payload.environment }),
    }),
  },
);

builder.relayMutationField(
  'createEnvironmentProtectionRule',
  {
    name: 'CreateEnvironmentProtectionRuleInput',
    inputFields: (t) => ({
      projectId: t.globalID({ for: ProjectNode, required: true }),
      environmentPattern: t.string({ required: true, description: 'An environment name (prod) or a glob: * matches any characters, ? one (prod-*).' }),
      principals: t.field({ type: ProtectionRulePrincipalsInput, required: true }),
    }),
  },
  {
    description: 'Protects the environments of a project whose name matches a pattern: only the principals named may deploy there.',
    resolve: async (_root, { input }, context) => ({
      environmentProtectionRule: await createProtectionRule(context.db.http, await context.caller(), {
        projectId: input.projectId.id,
        environmentPattern: input.environmentPattern,
        principals: principalsOf(input.principals),
      }),
    }),
  },
  {
    name: 'CreateEnvironmentProtectionRulePayload',
    outputFields: (t) => ({
      environmentProtectionRule: t.field({ type: EnvironmentProtectionRuleNode, resolve: (payload) => payload.environmentProtectionRule }),
    }),
  },
);

builder.relayMutationField(
  'updateEnvironmentProtectionRule',
  {
    name: 'UpdateEnvironmentProtectionRuleInput',
    inputFields: (t) => ({
      id: t.globalID({ for: EnvironmentProtectionRuleNode, required: true }),
      principals: t.field({ type: ProtectionRulePrincipalsInput, required: true, description: "Replaces the rule's principals." }),
      metadata: t.field({ type: ResourceMetadataInput }),
    }),
  },
  {
    description: 'Replaces who a protection rule lets deploy.',
    resolve: async (_root, { input }, context) => ({
      environmentProtectionRule: await updateProtectionRule(context.db.http, await context.caller(), input.id.id, {
        principals: principalsOf(input.principals),
        version: parseVersion(input.metadata),
      }),
    }),
  },
  {
    name: 'UpdateEnvironmentProtectionRulePayload',
    outputFields: (t) => ({
      environmentProtectionRule: t.field({ type: EnvironmentProtectionRuleNode, resolve: (payload) => payload.environmentProtectionRule }),
    }),
  },
);

builder.relayMutationField(
  'deleteEnvironmentProtectionRule',
  {
    name: 'DeleteEnvironmentProtectionRuleInput',
    inputFields: (t) => ({
      id: t.globalID({ for: EnvironmentProtectionRuleNode, required: true }),
      metadata: t.field({ type: ResourceMetadataInput }),
    }),
  },
  {
    description: 'Deletes a protection rule.',
    resolve: async (_root, { input }, context) => ({
      environmentProtectionRule: await deleteProtectionRule(context.db.http, await context.caller(), input.id.id, { version: parseVersion(input.metadata) }),
    }),
  },
  {
    name: 'DeleteEnvironmentProtectionRulePayload',
    outputFields: (t) => ({
      environmentProtectionRule: t.field({ type: EnvironmentProtectionRuleNode, resolve: (payload) => payload.environmentProtectionRule }),
    }),
  },
);
