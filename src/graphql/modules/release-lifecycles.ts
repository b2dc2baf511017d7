// Release lifecycles: immutable versions of lifecycle HCL, at organization level or in a project.
//   query { organization(id: "...") { releaseLifecycles(name: "standard", latest: true) { edges { node { id semanticVersion } } } } }
//   query { project(id: "...") { releaseLifecycles { edges { node { name scope } } } } }   # the project's and its organization's
//   query { releaseLifecycle(id: "prn:release_lifecycle:acme/standard/1.0.0") { hclData environmentNames stages { name deployments { environment } } } }
//   mutation { createReleaseLifecycle(input: { organizationId: "...", name: "standard", versioned: true, semanticVersion: "1.0.0",
//     hclData: "stage \"dev\" { ... }" }) { releaseLifecycle { id metadata { prn } } } }
//   mutation { deleteReleaseLifecycle(input: { id: "..." }) { releaseLifecycle { id } } }
// There is no update: a version is immutable. Who may do what is decided in the domain service.
import type { LifecycleDeployment, LifecycleStage, LifecycleStagePart } from '../../domain/lifecycles/model';
import {
  createReleaseLifecycle,
  deleteReleaseLifecycle,
  getReleaseLifecycle,
  listReleaseLifecycles,
  releaseLifecycleBody,
  releaseLifecycleCursorKey,
  releaseLifecycleIdsByPath,
  releaseLifecyclesByIds,
  type ReleaseLifecycleListRow,
  type ReleaseLifecycleView,
} from '../../domain/lifecycles/service';
import { builder } from '../builder';
import { keysetConnection } from '../connections';
import type { GraphQLContext } from '../context';
import { ResourceMetadata } from '../metadata';
import { acceptPrns } from '../prns';
import { OrganizationNode } from './organizations';
import { TemplateVariableRef } from './pipeline-templates';
import { ProjectNode } from './projects';

const StagePartRef = builder.objectRef<LifecycleStagePart>('ReleaseLifecycleStagePart').implement({
  description: "A stage's `pre` or `post` block: approvals and tasks (empty when the stage has none).",
  fields: (t) => ({
    approvalRules: t.exposeStringList('approvalRules', { description: 'Approval rule PRNs.' }),
    tasks: t.stringList({ description: 'Task names, in file order.', resolve: (part) => part.tasks.map((task) => task.name) }),
  }),
});

const DeploymentRef = builder.objectRef<LifecycleDeployment>('ReleaseLifecycleDeployment').implement({
  description: 'A `deployment` block: the stage deploys the release to this environment (all of a stage in parallel).',
  fields: (t) => ({
    environment: t.exposeString('environment'),
    approvalRules: t.exposeStringList('approvalRules', { description: 'Approval rule PRNs the deployment waits for.' }),
  }),
});

const StageRef = builder.objectRef<LifecycleStage>('ReleaseLifecycleStage').implement({
  description: 'A stage of the lifecycle, in run order.',
  fields: (t) => ({
    name: t.exposeString('name'),
    pre: t.field({ type: StagePartRef, resolve: (stage) => stage.pre }),
    deployments: t.field({ type: [DeploymentRef], resolve: (stage) => stage.deployments }),
    post: t.field({ type: StagePartRef, resolve: (stage) => stage.post }),
  }),
});

const ScopeEnum = builder.enumType('ReleaseLifecycleScope', {
  values: {
    ORGANIZATION: { value: 'organization', description: 'Usable by every project of the organization.' },
    PROJECT: { value: 'project', description: 'Usable by its project.' },
  } as const,
});

export const ReleaseLifecycleNode = builder.loadableNode('ReleaseLifecycle', {
  description: 'An immutable version of a release lifecycle (HCL), at organization level or in a project.',
  id: { resolve: (lifecycle: ReleaseLifecycleView) => lifecycle.id },
  load: async (ids: string[], context: GraphQLContext) => releaseLifecyclesByIds(context.db.http, await context.caller(), ids),
  sort: (lifecycle) => lifecycle.id,
  fields: (t) => ({
    name: t.exposeString('name'),
    scope: t.field({ type: ScopeEnum, resolve: (lifecycle) => (lifecycle.projectId === null ? 'organization' : 'project') }),
    versioned: t.exposeBoolean('versioned'),
    semanticVersion: t.exposeString('semanticVersion', { nullable: true, description: 'Null for an unversioned lifecycle.' }),
    latest: t.exposeBoolean('latest', { description: 'Whether this is the highest semantic version of its name where it lives.' }),
    sha256Checksum: t.exposeString('sha256', { description: 'Hex SHA-256 of the HCL body.' }),
    sizeBytes: t.exposeInt('sizeBytes'),
    hclData: t.string({
      description: 'The HCL body as uploaded, read from the object store.',
      resolve: (lifecycle, _args, context) => releaseLifecycleBody(context.objects(), lifecycle),
    }),
    stages: t.field({ type: [StageRef], resolve: (lifecycle) => lifecycle.compiled.stages }),
    variables: t.field({ type: [TemplateVariableRef], resolve: (lifecycle) => lifecycle.compiled.variables }),
    environmentNames: t.stringList({
      description: 'Every environment a deployment names, in first-seen order.',
      resolve: (lifecycle) => lifecycle.compiled.environmentNames,
    }),
    createdBy: t.exposeString('createdBy'),
    organization: t.field({ type: OrganizationNode, resolve: (lifecycle) => lifecycle.organizationId }),
    project: t.field({
      type: ProjectNode,
      nullable: true,
      description: 'Null for an organization-level lifecycle.',
      resolve: (lifecycle) => lifecycle.projectId,
    }),
    metadata: t.field({
      type: ResourceMetadata,
      description:
        'prn:release_lifecycle:<organization>/<name>/<version>, or <organization>/<project>/<name>/<version> in a project (an unversioned lifecycle: its id in place of the version).',
      resolve: (lifecycle) => lifecycle,
    }),
  }),
});

acceptPrns('release_lifecycle', 'ReleaseLifecycle', releaseLifecycleIdsByPath);

const SortEnum = builder.enumType('ReleaseLifecycleSort', {
  values: { CREATED_AT_DESC: { value: 'CREATED_AT_DESC' }, CREATED_AT_ASC: { value: 'CREATED_AT_ASC' } } as const,
});

builder.objectField(OrganizationNode, 'releaseLifecycles', (t) =>
  t.connection(
    {
      type: ReleaseLifecycleNode,
      description: "The organization's release lifecycle versions, newest first unless sorted otherwise.",
      args: {
        includeProjects: t.arg.boolean({ description: "Also its projects' lifecycles (default: only the organization-level ones)." }),
        name: t.arg.string({ description: 'Only versions of this lifecycle.' }),
        latest: t.arg.boolean({ description: 'true: only the latest version of each name; false: only the others.' }),
        sort: t.arg({ type: SortEnum }),
      },
      resolve: async (organization, args, context) => {
        const caller = await context.caller();
        return keysetConnection<ReleaseLifecycleListRow>(args, releaseLifecycleCursorKey, (page) =>
          listReleaseLifecycles(
            context.db.http,
            caller,
            {
              organizationId: organization.id,
              includeProjects: args.includeProjects ?? false,
              name: args.name ?? undefined,
              latest: args.latest ?? undefined,
              sort: args.sort ?? undefined,
            },
            page,
          ),
        );
      },
    },
    { name: 'ReleaseLifecycleConnection' },
    { name: 'ReleaseLifecycleEdge' },
  ),
);

builder.objectField(ProjectNode, 'releaseLifecycles', (t) =>
  t.connection({
    type: ReleaseLifecycleNode,
    description: "The lifecycle versions the project may use: its own and its organization's, newest first unless sorted otherwise.",
    args: {
      name: t.arg.string({ description: 'Only versions of this lifecycle.' }),
      latest: t.arg.boolean({ description: 'true: only the latest version of each name; false: only the others.' }),
      sort: t.arg({ type: SortEnum }),
    },
    resolve: async (project, args, context) => {
      const caller = await context.caller();
      return keysetConnection<ReleaseLifecycleListRow>(args, releaseLifecycleCursorKey, (page) =>
        listReleaseLifecycles(
          context.db.http,
          caller,
          { projectId: project.id, name: args.name ?? undefined, latest: args.latest ?? undefined, sort: args.sort ?? undefined },
          page,
        ),
      );
    },
  }),
);

builder.queryField('releaseLifecycle', (t) =>
  t.field({
    type: ReleaseLifecycleNode,
    description: 'One release lifecycle version, by global id or PRN.',
    args: { id: t.arg.globalID({ for: ReleaseLifecycleNode, required: true }) },
    resolve: async (_root, { id }, context) => getReleaseLifecycle(context.db.http, await context.caller(), id.id),
  }),
);

builder.relayMutationField(
  'createReleaseLifecycle',
  {
    name: 'CreateReleaseLifecycleInput',
    inputFields: (t) => ({
      organizationId: t.globalID({ for: OrganizationNode, description: 'For an organization-level lifecycle, usable by all its projects.' }),
      projectId: t.globalID({ for: ProjectNode, description: 'For a lifecycle of one project (instead of organizationId).' }),
      name: t.string({ required: true }),
      versioned: t.boolean({ required: true, description: 'A versioned lifecycle has a semantic version; an unversioned one is a one-off.' }),
      semanticVersion: t.string({ description: 'SemVer 2.0 (e.g. 1.2.0, 2.0.0-rc.1); required when versioned.' }),
      hclData: t.string({
        required: true,
        description: 'The lifecycle, HCL. At most PHOBOS_TEMPLATE_MAX_UPLOAD_SIZE bytes.',
        extensions: { multiline: true },
      }),
    }),
  },
  {
    description: 'Creates a release lifecycle version from HCL. Versions are immutable; a version that exists is refused with CONFLICT.',
    resolve: async (_root, { input }, context) => ({
      releaseLifecycle: await createReleaseLifecycle(
        context.db.http,
        context.objects(),
        await context.caller(),
        { maxUploadBytes: context.config.server.templateMaxUploadSize },
        {
          organizationId: input.organizationId?.id,
          projectId: input.projectId?.id,
          name: input.name,
          versioned: input.versioned,
          semanticVersion: input.semanticVersion ?? undefined,
          hclData: input.hclData,
        },
      ),
    }),
  },
  {
    name: 'CreateReleaseLifecyclePayload',
    outputFields: (t) => ({
      releaseLifecycle: t.field({ type: ReleaseLifecycleNode, resolve: (payload) => payload.releaseLifecycle }),
    }),
  },
);

builder.relayMutationField(
  'deleteReleaseLifecycle',
  {
    name: 'DeleteReleaseLifecycleInput',
    inputFields: (t) => ({
      id: t.globalID({ for: ReleaseLifecycleNode, required: true }),
    }),
  },
  {
    description: 'Deletes a release lifecycle version and its body; the highest remaining version of its name becomes latest.',
    resolve: async (_root, { input }, context) => ({
      releaseLifecycle: await deleteReleaseLifecycle(context.db.http, context.objects(), await context.caller(), input.id.id),
    }),
  },
  {
    name: 'DeleteReleaseLifecyclePayload',
    outputFields: (t) => ({
      releaseLifecycle: t.field({ type: ReleaseLifecycleNode, resolve: (payload) => payload.releaseLifecycle }),
    }),
  },
);
