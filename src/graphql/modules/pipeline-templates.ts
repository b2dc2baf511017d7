// Pipeline templates: immutable versions of HCL in a project.
//   query { project(id: "...") { pipelineTemplates(name: "deploy", latest: true) { edges { node { id semanticVersion latest } } } } }
//   query { pipelineTemplate(id: "prn:pipeline_template:acme/web/deploy/1.2.0") { hclData sha256Checksum variables { name type } } }
//   mutation { createPipelineTemplate(input: { projectId: "...", name: "deploy", versioned: true, semanticVersion: "1.2.0",
//     hclData: "stage \"build\" { ... }" }) { pipelineTemplate { id metadata { prn } } } }
//   mutation { createPipelineTemplateFromVCS(input: { projectId: "...", name: "deploy", semanticVersion: "1.3.0",
//     vcsProviderId: "...", repository: "acme/web", ref: "main", path: "templates/deploy.hcl" }) { pipelineTemplate { id } } }
//   mutation { deletePipelineTemplate(input: { id: "..." }) { pipelineTemplate { id } } }
// There is no update: a version is immutable. Who may do what is decided in the domain service.
import { createPipelineTemplateFromVcs } from '../../domain/templates/from-repository';
import type { TemplateStage, TemplateVariable, TypeConstraint } from '../../domain/templates/model';
import {
  createPipelineTemplate,
  deletePipelineTemplate,
  getPipelineTemplate,
  listPipelineTemplates,
  pipelineTemplateBody,
  pipelineTemplateIdsByPath,
  pipelineTemplatesByIds,
  templateCursorKey,
  type PipelineTemplateListRow,
  type PipelineTemplateView,
} from '../../domain/templates/service';
import { builder } from '../builder';
import { keysetConnection } from '../connections';
import type { GraphQLContext } from '../context';
import { ResourceMetadata } from '../metadata';
import { acceptPrns } from '../prns';
import { ProjectNode } from './projects';
import { VcsProviderNode } from './vcs-providers';

/** A type constraint as it is written in HCL: `list(number)`, `object({ name = string })`. */
function typeText(type: TypeConstraint): string {
  if (typeof type === 'string') return type;
  if ('list' in type) return `list(${typeText(type.list)})`;
  if ('set' in type) return `set(${typeText(type.set)})`;
  if ('map' in type) return `map(${typeText(type.map)})`;
  if ('tuple' in type) return `tuple([${type.tuple.map(typeText).join(', ')}])`;
  return `object({ ${Object.entries(type.object)
    .map(([name, member]) => `${name} = ${typeText(member)}`)
    .join(', ')} })`;
}

export const TemplateVariableRef = builder.objectRef<TemplateVariable>('PipelineTemplateVariable').implement({
  description: 'A `variable` block: an input given when a pipeline is created from the template.',
  fields: (t) => ({
    name: t.exposeString('name'),
    type: t.string({ description: 'The type constraint as written in HCL, e.g. list(number).', resolve: (variable) => typeText(variable.type) }),
    hasDefault: t.exposeBoolean('hasDefault', { description: 'Without a default, a pipeline must give a value.' }),
    defaultValue: t.string({
      nullable: true,
      description: 'The default, JSON-encoded; null when there is none or the variable is sensitive (a sensitive default is never returned).',
      resolve: (variable) => (variable.hasDefault && !variable.sensitive ? JSON.stringify(variable.default ?? null) : null),
    }),
    sensitive: t.exposeBoolean('sensitive'),
    description: t.exposeString('description', { nullable: true }),
  }),
});

const StageWhenEnum = builder.enumType('PipelineTemplateStageWhen', {
  values: { AUTO: { value: 'auto' }, PIPELINE_FAILURE: { value: 'pipeline_failure' } } as const,
});

const TemplateStageRef = builder.objectRef<TemplateStage>('PipelineTemplateStage').implement({
  description: 'A stage of the template, in run order, with the names of its tasks and nested pipelines.',
  fields: (t) => ({
    name: t.exposeString('name'),
    when: t.field({ type: StageWhenEnum, resolve: (stage) => stage.when }),
    approvalRules: t.exposeStringList('approvalRules', { description: 'Approval rule PRNs.' }),
    tasks: t.stringList({ resolve: (stage) => stage.tasks.map((task) => task.name) }),
    nestedPipelines: t.stringList({ resolve: (stage) => stage.pipelines.map((pipeline) => pipeline.name) }),
  }),
});

const SourceEnum = builder.enumType('PipelineTemplateSource', {
  values: { UPLOAD: { value: 'upload' }, VCS: { value: 'vcs' } } as const,
});

const StatusEnum = builder.enumType('PipelineTemplateStatus', {
  description: 'A version exists only once its body is stored, so every version is UPLOADED.',
  values: { UPLOADED: { value: 'uploaded' } } as const,
});

const SourceDetailsRef = builder.objectRef<Record<string, string>>('PipelineTemplateVCSSource').implement({
  description: 'Where a template read from a repository came from.',
  fields: (t) => ({
    vcsProviderId: t.globalID({ resolve: (details) => ({ type: 'VCSProvider', id: details.vcsProviderId ?? '' }) }),
    repository: t.string({ resolve: (details) => details.repository ?? '' }),
    ref: t.string({ resolve: (details) => details.ref ?? '' }),
    path: t.string({ resolve: (details) => details.path ?? '' }),
  }),
});

export const PipelineTemplateNode = builder.loadableNode('PipelineTemplate', {
  description: 'An immutable version of a pipeline template (HCL) in a project.',
  id: { resolve: (template: PipelineTemplateView) => template.id },
  load: async (ids: string[], context: GraphQLContext) => pipelineTemplatesByIds(context.db.http, await context.caller(), ids),
  sort: (template) => template.id,
  fields: (t) => ({
    name: t.exposeString('name'),
    versioned: t.exposeBoolean('versioned'),
    semanticVersion: t.exposeString('semanticVersion', { nullable: true, description: 'Null for an unversioned template.' }),
    latest: t.exposeBoolean('latest', { description: 'Whether this is the highest semantic version of its name in the project.' }),
    status: t.field({ type: StatusEnum, resolve: () => 'uploaded' as const }),
    sha256Checksum: t.exposeString('sha256', { description: 'Hex SHA-256 of the HCL body.' }),
    sizeBytes: t.exposeInt('sizeBytes'),
    hclData: t.string({
      description: 'The HCL body as uploaded, read from the object store.',
      resolve: (template, _args, context) => pipelineTemplateBody(context.objects(), template),
    }),
    variables: t.field({ type: [TemplateVariableRef], resolve: (template) => template.compiled.variables }),
    stages: t.field({ type: [TemplateStageRef], resolve: (template) => template.compiled.stages }),
    source: t.field({ type: SourceEnum, resolve: (template) => template.source }),
    vcsSource: t.field({ type: SourceDetailsRef, nullable: true, description: 'Set when source is VCS.', resolve: (template) => template.sourceDetails }),
    createdBy: t.exposeString('createdBy'),
    project: t.field({ type: ProjectNode, resolve: (template) => template.projectId }),
    metadata: t.field({
      type: ResourceMetadata,
      description: 'prn:pipeline_template:<organization>/<project>/<name>/<version> (an unversioned template: its id in place of the version).',
      resolve: (template) => template,
    }),
  }),
});

acceptPrns('pipeline_template', 'PipelineTemplate', pipelineTemplateIdsByPath);

const SortEnum = builder.enumType('PipelineTemplateSort', {
  values: { CREATED_AT_DESC: { value: 'CREATED_AT_DESC' }, CREATED_AT_ASC: { value: 'CREATED_AT_ASC' } } as const,
});

builder.objectField(ProjectNode, 'pipelineTemplates', (t) =>
  t.connection(
    {
      type: PipelineTemplateNode,
      description: "The project's pipeline template versions, newest first unless sorted otherwise.",
      args: {
        name: t.arg.string({ description: 'Only versions of this template.' }),
        latest: t.arg.boolean({ description: 'true: only the latest version of each name; false: only the others.' }),
        versioned: t.arg.boolean(),
        sort: t.arg({ type: SortEnum }),
      },
      resolve: async (project, args, context) => {
        const caller = await context.caller();
        return keysetConnection<PipelineTemplateListRow>(args, templateCursorKey, (page) =>
          listPipelineTemplates(
            context.db.http,
            caller,
            {
              projectId: project.id,
              name: args.name ?? undefined,
              latest: args.latest ?? undefined,
              versioned: args.versioned ?? undefined,
              sort: args.sort ?? undefined,
            },
            page,
          ),
        );
      },
    },
    { name: 'PipelineTemplateConnection' },
    { name: 'PipelineTemplateEdge' },
  ),
);

builder.queryField('pipelineTemplate', (t) =>
  t.field({
    type: PipelineTemplateNode,
    description: 'One pipeline template version, by global id or PRN.',
    args: { id: t.arg.globalID({ for: PipelineTemplateNode, required: true }) },
    resolve: async (_root, { id }, context) => getPipelineTemplate(context.db.http, await context.caller(), id.id),
  }),
);

const limitsOf = (context: GraphQLContext) => ({ maxUploadBytes: context.config.server.templateMaxUploadSize });

builder.relayMutationField(
  'createPipelineTemplate',
  {
    name: 'CreatePipelineTemplateInput',
    inputFields: (t) => ({
      projectId: t.globalID({ for: ProjectNode, required: true }),
      name: t.string({ required: true }),
      versioned: t.boolean({ required: true, description: 'A versioned template has a semantic version; an unversioned one is a one-off.' }),
      semanticVersion: t.string({ description: 'SemVer 2.0 (e.g. 1.2.0, 2.0.0-rc.1); required when versioned.' }),
      hclData: t.string({
        required: true,
        description: 'The template, HCL. At most PHOBOS_TEMPLATE_MAX_UPLOAD_SIZE bytes.',
        extensions: { multiline: true },
      }),
    }),
  },
  {
    description: 'Creates a pipeline template version from HCL. Versions are immutable; a version that exists is refused with CONFLICT.',
    resolve: async (_root, { input }, context) => ({
      pipelineTemplate: await createPipelineTemplate(context.db.http, context.objects(), await context.caller(), limitsOf(context), {
        projectId: input.projectId.id,
        name: input.name,
        versioned: input.versioned,
        semanticVersion: input.semanticVersion ?? undefined,
        hclData: input.hclData,
      }),
    }),
  },
  {
    name: 'CreatePipelineTemplatePayload',
    outputFields: (t) => ({
      pipelineTemplate: t.field({ type: PipelineTemplateNode, resolve: (payload) => payload.pipelineTemplate }),
    }),
  },
);

builder.relayMutationField(
  'createPipelineTemplateFromVCS',
  {
    name: 'CreatePipelineTemplateFromVCSInput',
    inputFields: (t) => ({
      projectId: t.globalID({ for: ProjectNode, required: true }),
      name: t.string({ required: true }),
      semanticVersion: t.string({ description: 'Without one the template is unversioned.' }),
      vcsProviderId: t.globalID({ for: VcsProviderNode, required: true, description: 'A VCS provider of the project or its organization (global id or PRN).' }),
      repository: t.string({ required: true, description: 'owner/repository on GitHub, group/project on GitLab.' }),
      ref: t.string({ required: true, description: 'Branch, tag or commit.' }),
      path: t.string({ required: true, description: 'Path of the HCL file in the repository.' }),
    }),
  },
  {
    description: 'Creates a pipeline template version from a file in a repository, read through a VCS provider.',
    resolve: async (_root, { input }, context) => ({
      pipelineTemplate: await createPipelineTemplateFromVcs(context.db.http, context.objects(), context.config, await context.caller(), limitsOf(context), {
        projectId: input.projectId.id,
        name: input.name,
        semanticVersion: input.semanticVersion ?? undefined,
        vcsProviderId: input.vcsProviderId.id,
        repository: input.repository,
        ref: input.ref,
        path: input.path,
      }),
    }),
  },
  {
    name: 'CreatePipelineTemplateFromVCSPayload',
    outputFields: (t) => ({
      pipelineTemplate: t.field({ type: PipelineTemplateNode, resolve: (payload) => payload.pipelineTemplate }),
    }),
  },
);

builder.relayMutationField(
  'deletePipelineTemplate',
  {
    name: 'DeletePipelineTemplateInput',
    inputFields: (t) => ({
      id: t.globalID({ for: PipelineTemplateNode, required: true }),
    }),
  },
  {
    description: 'Deletes a pipeline template version and its body; the highest remaining version of its name becomes latest.',
    resolve: async (_root, { input }, context) => ({
      pipelineTemplate: await deletePipelineTemplate(context.db.http, context.objects(), await context.caller(), input.id.id),
    }),
  },
  {
    name: 'DeletePipelineTemplatePayload',
    outputFields: (t) => ({
      pipelineTemplate: t.field({ type: PipelineTemplateNode, resolve: (payload) => payload.pipelineTemplate }),
    }),
  },
);
