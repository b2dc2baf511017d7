// Pipelines and their graph, read in one request:
//   query { pipeline(id: "...") { id type status environmentName pipelineTemplate { name semanticVersion } variables { key value sensitive }
//     stages { name status tasks { id name status when approvals { principalName createdAt } latestJob { status } }
//       nestedPipelines { id status childPipeline { id status } } } } }
//   query { project(id: "...") { pipelines(first: 20, types: [DEPLOYMENT], statuses: [RUNNING], sort: CREATED_AT_DESC) {
//     totalCount edges { cursor node { id status } } pageInfo { endCursor hasNextPage } } } }
// Stages, tasks and nested pipelines are nodes of their own (PipelineStage, PipelineTask,
// NestedPipeline, all implementing the PipelineNode interface): their global ids are what the
// node mutations (pipeline-mutations.ts) take. Nodes, approvals and jobs are loaded per request by
// pipeline id (pipeline-loaders.ts): one query each, however many pipelines, stages and tasks are
// selected. Reading needs pipeline:view on the pipeline's project, decided in the domain.
import { encodeGlobalID } from '@pothos/plugin-relay';
import {
  nodesByIds,
  pageProjectPipelines,
  pipelineIdsByPath,
  pipelinesInTreesOf,
  pipelineSorts,
  type PipelineFilter,
  type PipelineListRow,
  type PipelineSort,
} from '../../domain/pipelines/queries';
import { getPipeline, type ApprovalView, type NodeView, type PipelineView } from '../../domain/pipelines/service';
import { nodeStatuses, pipelineTypes, type NodeKind } from '../../domain/pipelines/statuses';
import { prnOf } from '../../domain/prn';
import { builder } from '../builder';
import { keysetConnection, type ConnectionArgs } from '../connections';
import type { GraphQLContext } from '../context';
import { ResourceMetadata } from '../metadata';
import { approvalsOf, nodesOf } from '../pipeline-loaders';
import { acceptPrns } from '../prns';
import { ApprovalRuleNode } from './approval-rules';
import { EnvironmentNode, EnvironmentDeploymentRef } from './environments';
import { PipelineTemplateNode } from './pipeline-templates';
import { ProjectNode } from './projects';
import { UserNode } from './viewer';

const PipelineStatusEnum = builder.enumType('PipelineStatus', {
  description: 'The status of a pipeline or of one of its stages, tasks and nested pipelines (the engine state machine).',
  values: nodeStatuses,
});

const PipelineTypeEnum = builder.enumType('PipelineType', {
  description: 'DEPLOYMENT (to an environment) and RUNBOOK are created by people; NESTED by a parent pipeline; RELEASE_LIFECYCLE by releases.',
  values: pipelineTypes,
});

export const PipelineNode = builder.loadableNodeRef('Pipeline', {
  id: { resolve: (pipeline: PipelineView) => pipeline.id },
  // Every lookup of a request in one query, which reads the whole trees the pipelines belong to and
  // keeps the others (parents, nested pipelines) for later lookups; pipelines the caller may not see
  // are not found.
  load: async (ids: string[], context: GraphQLContext) => {
    const rows = await pipelinesInTreesOf(context.db.http, await context.caller(), ids);
    const loader = context.loaders.of(PipelineNode);
    for (const row of rows) if (!ids.includes(row.id)) loader.prime(row.id, row);
    return rows.filter((row) => ids.includes(row.id));
  },
  sort: (pipeline) => pipeline.id,
});

const PipelineSortEnum = builder.enumType('PipelineSort', {
  description: 'COMPLETED_AT_DESC lists pipelines that have not completed last.',
  values: pipelineSorts,
});

export const PipelineVariableRef = builder.objectRef<{ key: string; value: string | null; sensitive: boolean }>('PipelineVariable').implement({
  description:
    "A variable the pipeline was created with. A sensitive variable's value is never shown: it is sealed at rest and given only to the jobs that use it.",
  fields: (t) => ({
    key: t.exposeString('key'),
    value: t.exposeString('value', {
      nullable: true,
      description: 'The value as a JSON text (e.g. "\\"v1.2\\"", "[8000, 8001]"); null for a sensitive variable.',
    }),
    sensitive: t.exposeBoolean('sensitive'),
  }),
});

const PipelineAnnotationRef = builder.objectRef<{ key: string; value: string; link: string | null }>('PipelineAnnotation').implement({
  description: 'A label given at creation, optionally with a link (e.g. to the change that triggered it).',
  fields: (t) => ({
    key: t.exposeString('key'),
    value: t.exposeString('value'),
    link: t.exposeString('link', { nullable: true }),
  }),
});

const PipelineTriggerRef = builder.objectRef<PipelineView['trigger']>('PipelineTrigger').implement({
  description: 'Who or what created the pipeline: a user, a service account, or the engine (a nested pipeline).',
  fields: (t) => ({
    kind: t.string({ description: '`user`, `service_account` or `system`.', resolve: (trigger) => trigger.kind }),
    id: t.globalID({
      nullable: true,
      description: "The User's or ServiceAccount's id; null for the system.",
      resolve: (trigger) => (trigger.id && trigger.kind !== 'system' ? { type: trigger.kind === 'user' ? 'User' : 'ServiceAccount', id: trigger.id } : null),
    }),
    name: t.string({ description: 'The username or account name at the time.', resolve: (trigger) => trigger.name }),
  }),
});

interface Versioned {
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

/** Stages, tasks, nested pipelines and jobs have no PRN of their own: they are named by their pipeline and path. */
export const PipelineObjectMetadata = builder.objectRef<Versioned>('PipelineObjectMetadata').implement({
  fields: (t) => ({
    createdAt: t.field({ type: 'Time', resolve: (row) => row.createdAt }),
    updatedAt: t.field({ type: 'Time', resolve: (row) => row.updatedAt }),
    version: t.string({ resolve: (row) => String(row.version) }),
  }),
});

const PipelineApprovalRef = builder.objectRef<ApprovalView>('PipelineApproval').implement({
  description: "One principal's approval of a node; a revoked one stays, with revokedAt.",
  fields: (t) => ({
    principalName: t.exposeString('principalName', { description: "The approver's name when it approved." }),
    user: t.field({ type: UserNode, nullable: true, resolve: (approval) => approval.userId }),
    serviceAccountId: t.globalID({
      nullable: true,
      description: 'The ServiceAccount that approved, if it was one.',
      resolve: (approval) => (approval.serviceAccountId ? { type: 'ServiceAccount', id: approval.serviceAccountId } : null),
    }),
    approvalRules: t.field({
      type: [ApprovalRuleNode],
      nullable: { list: false, items: true },
      description: 'The rules it counts toward (null where the caller may not see the rule).',
      extensions: { listSize: 3 },
      resolve: (approval) => approval.approvalRuleIds,
    }),
    createdAt: t.field({ type: 'Time', resolve: (approval) => approval.createdAt }),
    revokedAt: t.field({ type: 'Time', nullable: true, resolve: (approval) => approval.revokedAt }),
  }),
});

export const PipelineNodeInterface = builder.interfaceRef<NodeView>('PipelineNode').implement({
  description: 'A stage, task or nested pipeline of a pipeline: what approvals, starts, retries and deferrals act on.',
  interfaces: [builder.nodeInterfaceRef()],
  resolveType: (node) => typenameOfKind[node.kind],
  fields: (t) => ({
    name: t.exposeString('name'),
    path: t.exposeString('path', { description: 'Its place in the pipeline: stage.deploy, stage.deploy.task.build, stage.deploy.pipeline.child.' }),
    status: t.field({ type: PipelineStatusEnum, resolve: (node) => node.status }),
    when: t.exposeString('when', { description: 'Stages: auto or pipeline_failure; tasks and nested pipelines: auto or manual (started by someone).' }),
    approvalRules: t.field({
      type: [ApprovalRuleNode],
      nullable: { list: false, items: true },
      description: 'The approval rules that must be satisfied before it starts (null where the caller may not see the rule).',
      extensions: { listSize: 5 },
      resolve: (node) => node.approvalRuleIds,
    }),
    approvals: t.field({
      type: [PipelineApprovalRef],
      args: { includeRevoked: t.arg.boolean({ defaultValue: false }) },
      description: 'Its approvals, oldest first: live ones, and revoked ones when asked.',
      extensions: { listSize: 5 },
      resolve: async (node, { includeRevoked }, context) =>
        (await approvalsOf(context).load(node.pipelineId)).filter((approval) => approval.nodeId === node.id && (includeRevoked || approval.revokedAt === null)),
    }),
    pipeline: t.field({ type: PipelineNode, description: 'The pipeline it belongs to.', resolve: (node) => node.pipelineId }),
    startedAt: t.field({ type: 'Time', nullable: true, resolve: (node) => node.startedAt }),
    completedAt: t.field({ type: 'Time', nullable: true, resolve: (node) => node.completedAt }),
    metadata: t.field({ type: PipelineObjectMetadata, resolve: (node) => node }),
  }),
});

const typenameOfKind: Record<NodeKind, 'PipelineStage' | 'PipelineTask' | 'NestedPipeline'> = {
  STAGE: 'PipelineStage',
  TASK: 'PipelineTask',
  PIPELINE: 'NestedPipeline',
};

/** Loads nodes of one kind by id: a stage's id is not a task's. */
const loadNodes = (kind: NodeKind) => async (ids: string[], context: GraphQLContext) =>
  (await nodesByIds(context.db.http, await context.caller(), ids)).filter((node) => node.kind === kind);

/** A stage's children of one kind, in order, from the pipeline's nodes (loaded once per request). */
async function childrenOf(stage: NodeView, kind: NodeKind, context: GraphQLContext): Promise<NodeView[]> {
  return (await nodesOf(context).load(stage.pipelineId)).filter((node) => node.parentNodeId === stage.id && node.kind === kind);
}

export const PipelineTaskNode = builder.loadableNode('PipelineTask', {
  description: "A task of a stage: its actions run as a job on an agent (a gate's job again at each attempt).",
  interfaces: [PipelineNodeInterface],
  id: { resolve: (node) => node.id },
  load: loadNodes('TASK'),
  sort: (node) => node.id,
  isTypeOf: (node) => (node as NodeView).kind === 'TASK',
  fields: (t) => ({
    attempts: t.exposeInt('attempts', { description: "Jobs created since it last (re)started: a gate's attempts." }),
    nextAttemptAt: t.field({
      type: 'Time',
      nullable: true,
      description: 'A gate between attempts: when the next job is created.',
      resolve: (node) => node.nextAttemptAt,
    }),
  }),
});

export const NestedPipelineNode = builder.loadableNode('NestedPipeline', {
  description: 'A pipeline block of a stage: the engine creates a NESTED pipeline from its template when it starts.',
  interfaces: [PipelineNodeInterface],
  id: { resolve: (node) => node.id },
  load: loadNodes('PIPELINE'),
  sort: (node) => node.id,
  isTypeOf: (node) => (node as NodeView).kind === 'PIPELINE',
  fields: (t) => ({
    childPipeline: t.field({
      type: PipelineNode,
      nullable: true,
      description: 'The NESTED pipeline it created (`pipeline` is the one it belongs to); null until it starts.',
      resolve: (node) => node.nestedPipelineId,
    }),
  }),
});

export const PipelineStageNode = builder.loadableNode('PipelineStage', {
  description: 'A stage: stages run one after another; the tasks and nested pipelines of a stage run in parallel.',
  interfaces: [PipelineNodeInterface],
  id: { resolve: (node) => node.id },
  load: loadNodes('STAGE'),
  sort: (node) => node.id,
  isTypeOf: (node) => (node as NodeView).kind === 'STAGE',
  fields: (t) => ({
    tasks: t.field({ type: [PipelineTaskNode], extensions: { listSize: 10 }, resolve: (stage, _args, context) => childrenOf(stage, 'TASK', context) }),
    nestedPipelines: t.field({
      type: [NestedPipelineNode],
      extensions: { listSize: 5 },
      resolve: (stage, _args, context) => childrenOf(stage, 'PIPELINE', context),
    }),
  }),
});

PipelineNode.implement({
  description: 'One run of a pipeline template: its stages run in order, each running its tasks and nested pipelines in parallel.',
  fields: (t) => ({
    type: t.field({ type: PipelineTypeEnum, resolve: (pipeline) => pipeline.type }),
    status: t.field({ type: PipelineStatusEnum, resolve: (pipeline) => pipeline.status }),
    environmentName: t.exposeString('environmentName', { nullable: true, description: 'The environment of a DEPLOYMENT; null for the other types.' }),
    project: t.field({ type: ProjectNode, resolve: (pipeline) => pipeline.projectId }),
    pipelineTemplate: t.field({
      type: PipelineTemplateNode,
      nullable: true,
      description: 'The template version it was created from; null for a RELEASE_LIFECYCLE, which runs a release lifecycle.',
      resolve: (pipeline) => pipeline.pipelineTemplateId,
    }),
    parentPipeline: t.field({
      type: PipelineNode,
      nullable: true,
      description: 'For a NESTED pipeline, or a DEPLOYMENT a release lifecycle started, the pipeline that started it.',
      resolve: (pipeline) => pipeline.parentPipelineId,
    }),
    parentNode: t.field({
      type: NestedPipelineNode,
      nullable: true,
      description: "For a NESTED pipeline, the parent's node it runs for.",
      // From the parent's nodes (read with the whole tree), not a lookup of its own.
      resolve: async (pipeline, _args, context) =>
        pipeline.parentPipelineId && pipeline.parentNodeId
          ? ((await nodesOf(context).load(pipeline.parentPipelineId)).find((node) => node.id === pipeline.parentNodeId) ?? null)
          : null,
    }),
    // Encoded by hand: releases have no node type yet (t.globalID would want it).
    releaseId: t.id({
      nullable: true,
      description: 'The global id of the Release it belongs to, if any.',
      resolve: (pipeline) => (pipeline.releaseId ? encodeGlobalID('Release', pipeline.releaseId) : null),
    }),
    variables: t.field({
      type: [PipelineVariableRef],
      description: 'By key. Sensitive variables are listed by name with a null value.',
      resolve: (pipeline) =>
        [
          ...Object.entries(pipeline.variables).map(([key, value]) => ({ key, value: JSON.stringify(value), sensitive: false })),
          ...pipeline.sensitiveVariableNames.map((key) => ({ key, value: null, sensitive: true })),
        ].sort((a, b) => a.key.localeCompare(b.key)),
    }),
    annotations: t.field({ type: [PipelineAnnotationRef], resolve: (pipeline) => pipeline.annotations }),
    createdBy: t.field({ type: PipelineTriggerRef, resolve: (pipeline) => pipeline.trigger }),
    stages: t.field({
      type: [PipelineStageNode],
      description: 'In run order.',
      extensions: { listSize: 10 },
      resolve: async (pipeline, _args, context) => (await nodesOf(context).load(pipeline.id)).filter((node) => node.kind === 'STAGE'),
    }),
    startedAt: t.field({ type: 'Time', nullable: true, resolve: (pipeline) => pipeline.startedAt }),
    completedAt: t.field({ type: 'Time', nullable: true, resolve: (pipeline) => pipeline.completedAt }),
    metadata: t.field({
      type: ResourceMetadata,
      description: 'prn:pipeline:<organization>/<project>/<id>',
      resolve: async (pipeline, _args, context) => {
        // The project's names, from the request's project loader (batched with every other lookup).
        const project = await context.loaders.of(ProjectNode).load(pipeline.projectId);
        return { ...pipeline, prn: prnOf('pipeline', project?.organizationName ?? '', project?.name ?? '', pipeline.id) };
      },
    }),
  }),
});

acceptPrns('pipeline', 'Pipeline', pipelineIdsByPath);

builder.queryField('pipeline', (t) =>
  t.field({
    type: PipelineNode,
    description: 'One pipeline, by its global id or PRN (prn:pipeline:<organization>/<project>/<id>).',
    args: { id: t.arg.globalID({ for: PipelineNode, required: true }) },
    resolve: async (_root, { id }, context) => getPipeline(context.db.http, await context.caller(), id.id),
  }),
);

/** A Relay connection over a project's pipelines matching `filter`, in the order the arguments ask. */
async function pipelineConnection(
  context: GraphQLContext,
  args: ConnectionArgs & { sort?: PipelineSort | null },
  project: { id: string; organizationId: string },
  filter: PipelineFilter,
) {
  const caller = await context.caller();
  return keysetConnection<PipelineListRow>(
    args,
    (row) => row.sortKey,
    (page) => pageProjectPipelines(context.db.http, caller, project, filter, args.sort ?? 'CREATED_AT_DESC', page),
  );
}

builder.objectField(ProjectNode, 'pipelines', (t) =>
  t.connection(
    {
      type: PipelineNode,
      description:
        "The project's pipelines matching every filter given, in the order asked (newest first by default). " +
        'Nested pipelines are shown under their parent unless includeNested is true.',
      args: {
        environmentName: t.arg.string(),
        types: t.arg({ type: [PipelineTypeEnum] }),
        statuses: t.arg({ type: [PipelineStatusEnum] }),
        createdAfter: t.arg({ type: 'Time', description: 'Included.' }),
        createdBefore: t.arg({ type: 'Time', description: 'Excluded.' }),
        includeNested: t.arg.boolean({ defaultValue: false }),
        sort: t.arg({ type: PipelineSortEnum, defaultValue: 'CREATED_AT_DESC' }),
      },
      resolve: (project, args, context) =>
        pipelineConnection(context, args, project, {
          environmentName: args.environmentName ?? undefined,
          types: args.types ?? undefined,
          statuses: args.statuses ?? undefined,
          createdAfter: args.createdAfter ?? undefined,
          createdBefore: args.createdBefore ?? undefined,
          includeNested: args.includeNested ?? false,
        }),
    },
    { name: 'PipelineConnection' },
    { name: 'PipelineEdge' },
  ),
);

builder.objectField(EnvironmentNode, 'pipelines', (t) =>
  t.connection(
    {
      type: PipelineNode,
      description: 'The DEPLOYMENT pipelines to this environment (by its name, in its project), newest first by default; needs pipeline:view.',
      args: {
        statuses: t.arg({ type: [PipelineStatusEnum] }),
        createdAfter: t.arg({ type: 'Time', description: 'Included.' }),
        createdBefore: t.arg({ type: 'Time', description: 'Excluded.' }),
        sort: t.arg({ type: PipelineSortEnum, defaultValue: 'CREATED_AT_DESC' }),
      },
      resolve: (environment, args, context) =>
        pipelineConnection(
          context,
          args,
          { id: environment.projectId, organizationId: environment.organizationId },
          {
            environmentName: environment.name,
            types: ['DEPLOYMENT'],
            statuses: args.statuses ?? undefined,
            createdAfter: args.createdAfter ?? undefined,
            createdBefore: args.createdBefore ?? undefined,
          },
        ),
    },
    { name: 'EnvironmentPipelineConnection' },
    { name: 'EnvironmentPipelineEdge' },
  ),
);

builder.objectField(EnvironmentDeploymentRef, 'pipeline', (t) =>
  t.field({ type: PipelineNode, nullable: true, description: 'The DEPLOYMENT pipeline.', resolve: (deployment) => deployment.id }),
);
