// Releases of a project: a semantic version with notes, due date, variables, automation snapshot,
// participants, threaded comments and assets.
//   query { project(id: "...") { releases(preRelease: false, dueBefore: "2026-12-31T00:00:00Z", sort: DUE_DATE_ASC) { edges { node { semanticVersion dueState } } } } }
//   query { release(id: "prn:release:acme/web/1.2.0") { notes status assets { name sha256 downloadUrl } comments { edges { node { text replies { totalCount } } } } } }
//   mutation { createRelease(input: { projectId: "...", semanticVersion: "1.2.0", notes: "# Changes", pipelineTemplateId: "...",
//     environmentTemplates: [{ environmentName: "prod", pipelineTemplateId: "..." }], variables: [{ key: "region", value: "\"eu\"" }] }) { release { id } } }
//   mutation { redeployRelease(input: { releaseId: "prn:release:acme/web/1.1.0", environmentName: "prod" }) { pipeline { id status holdReason } } }
// Assets are uploaded over REST (PUT /api/v1/releases/:releaseId/assets/:name, the body streamed).
// Who may do what is decided in the domain services.
import { createContextCache } from '@pothos/core';
import DataLoader from 'dataloader';
import { releaseStatuses } from '../../db/schema';
import { assetDownloadUrl, assetsOfReleases, deleteReleaseAsset, type ReleaseAssetView } from '../../domain/releases/assets';
import {
  commentCursorKey,
  createReleaseComment,
  deleteReleaseComment,
  listReleaseComments,
  releaseCommentsByIds,
  updateReleaseComment,
  type ReleaseCommentListRow,
  type ReleaseCommentView,
} from '../../domain/releases/comments';
import { dueState } from '../../domain/releases/due-dates';
import { addReleaseParticipant, participantsOfReleases, removeReleaseParticipant, type ReleaseParticipantView } from '../../domain/releases/participants';
import { releaseChanges, type AssetChange, type ReleaseChanges, type TemplateChange, type VariableChange } from '../../domain/releases/changes';
import { cutRelease } from '../../domain/releases/cut';
import { redeployRelease } from '../../domain/releases/redeploy';
import {
  deleteRelease,
  getRelease,
  listReleases,
  releaseCursorKey,
  releaseIdsByPath,
  releasesByIds,
  updateRelease,
  type ReleaseListRow,
  type ReleaseView,
} from '../../domain/releases/service';
import { builder } from '../builder';
import { keysetConnection } from '../connections';
import type { GraphQLContext } from '../context';
import { parseVersion, ResourceMetadata, ResourceMetadataInput } from '../metadata';
import { acceptPrns } from '../prns';
import { asInputError, PipelineVariableInput, variablesOf } from './pipeline-mutations';
import { EnvironmentDeploymentRef } from './environments';
import { PipelineTemplateNode } from './pipeline-templates';
import { ReleaseLifecycleNode } from './release-lifecycles';
import { PipelineNode, PipelineVariableRef } from './pipelines';
import { ProjectNode } from './projects';
import { TeamNode } from './teams';
import { UserNode } from './viewer';

/** Per request: the participants and assets of every release shown, one query each. */
function byRelease<T>(read: (context: GraphQLContext, releaseIds: readonly string[]) => Promise<Map<string, T[]>>) {
  return createContextCache(
    (context: GraphQLContext) => new DataLoader<string, T[]>(async (ids) => ((found) => ids.map((id) => found.get(id) ?? []))(await read(context, ids))),
  );
}
const participantsOf = byRelease<ReleaseParticipantView>((context, ids) => participantsOfReleases(context.db.http, ids));
const assetsOf = byRelease<ReleaseAssetView>((context, ids) => assetsOfReleases(context.db.http, ids));

const ReleaseStatusEnum = builder.enumType('ReleaseStatus', {
  description: 'Derived from its pipelines: CREATED until its lifecycle pipeline starts.',
  values: releaseStatuses,
});

const DueStateEnum = builder.enumType('ReleaseDueState', {
  description:
    'APPROACHING within PHOBOS_RELEASE_DUE_DATE_WARNING_HOURS (default 24) of the due date, OVERDUE once it has passed; NONE without one or once the release has finished.',
  values: ['NONE', 'APPROACHING', 'OVERDUE'] as const,
});

const SortEnum = builder.enumType('ReleaseSort', {
  values: {
    CREATED_AT_DESC: { value: 'CREATED_AT_DESC', description: 'Newest first.' },
    CREATED_AT_ASC: { value: 'CREATED_AT_ASC', description: 'Oldest first.' },
    DUE_DATE_ASC: { value: 'DUE_DATE_ASC', description: 'Soonest due first; releases without a due date last.' },
    DUE_DATE_DESC: { value: 'DUE_DATE_DESC', description: 'Latest due first; releases without a due date last.' },
    UPDATED_AT_DESC: { value: 'UPDATED_AT_DESC', description: 'Most recently changed first.' },
  } as const,
});

const EnvironmentTemplateRef = builder.objectRef<{ environmentName: string; pipelineTemplateId: string }>('ReleaseEnvironmentTemplate').implement({
  fields: (t) => ({
    environmentName: t.exposeString('environmentName'),
    pipelineTemplate: t.field({ type: PipelineTemplateNode, nullable: true, resolve: (entry) => entry.pipelineTemplateId }),
  }),
});

const AutomationRef = builder.objectRef<ReleaseView>('ReleaseAutomation').implement({
  description: 'The pipeline template versions the release deploys with, fixed when it was created.',
  fields: (t) => ({
    pipelineTemplate: t.field({
      type: PipelineTemplateNode,
      nullable: true,
      description: 'For every environment without its own.',
      resolve: (release) => release.pipelineTemplateId,
    }),
    environmentTemplates: t.field({
      type: [EnvironmentTemplateRef],
      description: 'Per environment, by environment name.',
      resolve: (release) =>
        Object.entries(release.environmentTemplates)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([environmentName, pipelineTemplateId]) => ({ environmentName, pipelineTemplateId })),
    }),
  }),
});

const ParticipantRef = builder.objectRef<ReleaseParticipantView>('ReleaseParticipant').implement({
  description: 'A user or a team notified about the release.',
  fields: (t) => ({
    user: t.field({ type: UserNode, nullable: true, resolve: (participant) => participant.userId }),
    team: t.field({ type: TeamNode, nullable: true, resolve: (participant) => participant.teamId }),
    name: t.exposeString('name', { description: "The user's username or the team's name." }),
  }),
});

const AssetRef = builder.objectRef<ReleaseAssetView>('ReleaseAsset').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    size: t.exposeInt('sizeBytes', { description: 'In bytes.' }),
    sha256: t.exposeString('sha256', { description: 'Hex SHA-256 of the file.' }),
    contentType: t.exposeString('contentType'),
    uploadedBy: t.exposeString('uploadedBy'),
    createdAt: t.field({ type: 'Time', resolve: (asset) => asset.createdAt }),
    downloadUrl: t.string({
      description: 'A presigned URL the file can be downloaded from for 15 minutes.',
      resolve: (asset, _args, context) => assetDownloadUrl(context.objects(), asset),
    }),
  }),
});

const CommentRef = builder.loadableNodeRef('ReleaseComment', {
  id: { resolve: (comment: ReleaseCommentView) => comment.id },
  load: async (ids: string[], context: GraphQLContext) => releaseCommentsByIds(context.db.http, await context.caller(), ids),
  sort: (comment) => comment.id,
});

const commentConnection = (context: GraphQLContext, args: Parameters<typeof keysetConnection>[0], scope: { releaseId: string; parentId?: string }) =>
  context
    .caller()
    .then((caller) => keysetConnection<ReleaseCommentListRow>(args, commentCursorKey, (page) => listReleaseComments(context.db.http, caller, scope, page)));

CommentRef.implement({
  description: 'A comment on a release; a top-level comment has replies. Only its author edits or deletes it.',
  fields: (t) => ({
    text: t.exposeString('text', { description: 'Markdown.' }),
    authorName: t.exposeString('authorName'),
    author: t.field({
      type: UserNode,
      nullable: true,
      description: 'The user who wrote it (null for a service account).',
      resolve: (comment) => (comment.authorKind === 'user' ? comment.authorId : null),
    }),
    parent: t.field({ type: CommentRef, nullable: true, description: 'For a reply, the comment it replies to.', resolve: (comment) => comment.parentId }),
    editedAt: t.field({ type: 'Time', nullable: true, resolve: (comment) => comment.editedAt }),
    createdAt: t.field({ type: 'Time', resolve: (comment) => comment.createdAt }),
    version: t.string({
      description: 'Send it back (metadata.version) to edit or delete only what you last read.',
      resolve: (comment) => String(comment.version),
    }),
    replies: t.connection(
      {
        type: CommentRef,
        description: 'Replies, oldest first (none for a reply).',
        resolve: (comment, args, context) =>
          comment.parentId ? emptyConnection() : commentConnection(context, args, { releaseId: comment.releaseId, parentId: comment.id }),
      },
      { name: 'ReleaseCommentReplyConnection' },
      { name: 'ReleaseCommentReplyEdge' },
    ),
  }),
});

const emptyConnection = () => ({
  totalCount: 0,
  edges: [],
  pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
});

export const ReleaseNode = builder.loadableNode('Release', {
  description: 'A version of a project being shipped.',
  id: { resolve: (release: ReleaseView) => release.id },
  load: async (ids: string[], context: GraphQLContext) => releasesByIds(context.db.http, await context.caller(), ids),
  sort: (release) => release.id,
  fields: (t) => ({
    semanticVersion: t.exposeString('semanticVersion'),
    preRelease: t.exposeBoolean('preRelease', { description: 'Whether the version has a pre-release part (1.0.0-rc.1).' }),
    notes: t.exposeString('notes', { description: 'Markdown.' }),
    dueDate: t.field({ type: 'Time', nullable: true, resolve: (release) => release.dueDate }),
    dueState: t.field({ type: DueStateEnum, resolve: (release, _args, context) => dueState(context.config, release, new Date()) }),
    status: t.field({ type: ReleaseStatusEnum, resolve: (release) => release.status }),
    variables: t.field({
      type: [PipelineVariableRef],
      description: 'By key. Sensitive variables are listed by name with a null value.',
      resolve: (release) =>
        [
          ...Object.entries(release.variables).map(([key, value]) => ({ key, value: JSON.stringify(value), sensitive: false })),
          ...release.sensitiveVariableNames.map((key) => ({ key, value: null, sensitive: true })),
        ].sort((a, b) => a.key.localeCompare(b.key)),
    }),
    automation: t.field({ type: AutomationRef, resolve: (release) => release }),
    lifecycle: t.field({
      type: ReleaseLifecycleNode,
      nullable: true,
      description: 'The release lifecycle version it follows (its compiled lifecycle is kept with the release as it was when cut).',
      resolve: (release) => release.lifecycleId,
    }),
    lifecyclePipeline: t.field({
      type: PipelineNode,
      nullable: true,
      description: 'Its RELEASE_LIFECYCLE pipeline, once started.',
      resolve: (release) => release.lifecyclePipelineId,
    }),
    participants: t.field({ type: [ParticipantRef], resolve: (release, _args, context) => participantsOf(context).load(release.id) }),
    assets: t.field({ type: [AssetRef], description: 'By name.', resolve: (release, _args, context) => assetsOf(context).load(release.id) }),
    comments: t.connection(
      {
        type: CommentRef,
        description: 'Top-level comments, oldest first; each with its replies.',
        resolve: (release, args, context) => commentConnection(context, args, { releaseId: release.id }),
      },
      { name: 'ReleaseCommentConnection' },
      { name: 'ReleaseCommentEdge' },
    ),
    project: t.field({ type: ProjectNode, resolve: (release) => release.projectId }),
    createdBy: t.exposeString('createdBy'),
    metadata: t.field({ type: ResourceMetadata, description: 'prn:release:<organization>/<project>/<semantic version>', resolve: (release) => release }),
  }),
});

acceptPrns('release', 'Release', releaseIdsByPath);

builder.objectField(EnvironmentDeploymentRef, 'release', (t) =>
  t.field({
    type: ReleaseNode,
    nullable: true,
    description: 'The release it deployed, when a release lifecycle started it.',
    resolve: (deployment) => deployment.releaseId,
  }),
);

builder.objectField(PipelineNode, 'release', (t) =>
  t.field({
    type: ReleaseNode,
    nullable: true,
    description: 'The release it belongs to, if any (and if the caller may see releases).',
    resolve: (pipeline) => pipeline.releaseId,
  }),
);

builder.objectField(ProjectNode, 'releases', (t) =>
  t.connection(
    {
      type: ReleaseNode,
      description: "The project's releases, newest first unless sorted otherwise.",
      args: {
        status: t.arg({ type: ReleaseStatusEnum }),
        preRelease: t.arg.boolean(),
        dueBefore: t.arg({ type: 'Time', description: 'Only releases due at or before this time.' }),
        dueAfter: t.arg({ type: 'Time', description: 'Only releases due after this time.' }),
        sort: t.arg({ type: SortEnum }),
      },
      resolve: async (project, args, context) => {
        const caller = await context.caller();
        return keysetConnection<ReleaseListRow>(args, releaseCursorKey, (page) =>
          listReleases(
            context.db.http,
            caller,
            {
              projectId: project.id,
              status: args.status ?? undefined,
              preRelease: args.preRelease ?? undefined,
              dueBefore: args.dueBefore ?? undefined,
              dueAfter: args.dueAfter ?? undefined,
              sort: args.sort ?? undefined,
            },
            page,
          ),
        );
      },
    },
    { name: 'ReleaseConnection' },
    { name: 'ReleaseEdge' },
  ),
);

builder.queryField('release', (t) =>
  t.field({
    type: ReleaseNode,
    description: 'One release, by global id or PRN (prn:release:<organization>/<project>/<version>).',
    args: { id: t.arg.globalID({ for: ReleaseNode, required: true }) },
    resolve: async (_root, { id }, context) => getRelease(context.db.http, await context.caller(), id.id),
  }),
);

const EnvironmentTemplateInput = builder.inputType('ReleaseEnvironmentTemplateInput', {
  fields: (t) => ({
    environmentName: t.string({ required: true }),
    pipelineTemplateId: t.globalID({ for: PipelineTemplateNode, required: true }),
  }),
});

builder.relayMutationField(
  'createRelease',
  {
    name: 'CreateReleaseInput',
    inputFields: (t) => ({
      projectId: t.globalID({ for: ProjectNode, required: true }),
      semanticVersion: t.string({ required: true, description: 'SemVer 2.0 without build metadata; a pre-release part (1.0.0-rc.1) makes it a pre-release.' }),
      notes: t.string({ description: 'Markdown, at most 64 KiB.', extensions: { multiline: true } }),
      dueDate: t.field({ type: 'Time', description: 'In the future.' }),
      pipelineTemplateId: t.globalID({ for: PipelineTemplateNode, description: 'The template version for every environment without its own.' }),
      environmentTemplates: t.field({ type: [EnvironmentTemplateInput], description: 'Per environment, the template version it deploys with.' }),
      variables: t.field({
        type: [PipelineVariableInput],
        description: "Values for the templates' variables: each declared by one of them, of the type of every template declaring it.",
      }),
      lifecycleId: t.globalID({
        for: ReleaseLifecycleNode,
        description: "The release lifecycle version (the project's or its organization's) it follows: its RELEASE_LIFECYCLE pipeline starts with the release.",
      }),
    }),
  },
  {
    description: 'Cuts a release of a project (its version unique in the project) and, with a lifecycle, starts moving it through its environments.',
    resolve: async (_root, { input }, context) => {
      const entries = input.variables ?? [];
      try {
        const release = await cutRelease(context.db.http, context.config, await context.caller(), {
          projectId: input.projectId.id,
          semanticVersion: input.semanticVersion,
          notes: input.notes ?? undefined,
          dueDate: input.dueDate ?? undefined,
          pipelineTemplateId: input.pipelineTemplateId?.id,
          environmentTemplates: input.environmentTemplates?.map((entry) => ({
            environmentName: entry.environmentName,
            pipelineTemplateId: entry.pipelineTemplateId.id,
          })),
          variables: variablesOf(entries),
          lifecycleId: input.lifecycleId?.id,
        });
        if (release.lifecyclePipelineId) await context.publishPipelineEvents({ projectId: release.projectId });
        return { release };
      } catch (error) {
        throw asInputError(error, entries);
      }
    },
  },
  { name: 'CreateReleasePayload', outputFields: (t) => ({ release: t.field({ type: ReleaseNode, resolve: (payload) => payload.release }) }) },
);

builder.relayMutationField(
  'updateRelease',
  {
    name: 'UpdateReleaseInput',
    inputFields: (t) => ({
      id: t.globalID({ for: ReleaseNode, required: true }),
      notes: t.string({ extensions: { multiline: true } }),
      dueDate: t.field({ type: 'Time' }),
      clearDueDate: t.boolean({ description: 'Removes the due date.' }),
      metadata: t.field({ type: ResourceMetadataInput }),
    }),
  },
  {
    description: "Changes a release's notes or due date (a new due date is warned about again).",
    resolve: async (_root, { input }, context) => ({
      release: await updateRelease(context.db.http, await context.caller(), input.id.id, {
        notes: input.notes ?? undefined,
        dueDate: input.clearDueDate ? null : (input.dueDate ?? undefined),
        version: parseVersion(input.metadata),
      }),
    }),
  },
  { name: 'UpdateReleasePayload', outputFields: (t) => ({ release: t.field({ type: ReleaseNode, resolve: (payload) => payload.release }) }) },
);

builder.relayMutationField(
  'deleteRelease',
  {
    name: 'DeleteReleaseInput',
    inputFields: (t) => ({
      id: t.globalID({ for: ReleaseNode, required: true }),
      metadata: t.field({ type: ResourceMetadataInput }),
    }),
  },
  {
    description: 'Deletes a release that has no pipelines (CONFLICT otherwise), with its comments, participants and assets.',
    resolve: async (_root, { input }, context) => ({
      release: await deleteRelease(context.db.http, context.objects(), await context.caller(), input.id.id, { version: parseVersion(input.metadata) }),
    }),
  },
  { name: 'DeleteReleasePayload', outputFields: (t) => ({ release: t.field({ type: ReleaseNode, resolve: (payload) => payload.release }) }) },
);

builder.relayMutationField(
  'redeployRelease',
  {
    name: 'RedeployReleaseInput',
    inputFields: (t) => ({
      releaseId: t.globalID({ for: ReleaseNode, required: true }),
      environmentName: t.string({ required: true, description: 'An environment of the release project that the release has a pipeline template for.' }),
    }),
  },
  {
    description:
      "Deploys the release's version to the environment again as a new DEPLOYMENT pipeline, from the release's stored snapshot (template, variables), " +
      "waiting its turn in the environment's queue (needs pipeline:execute and the environment's protection rules).",
    resolve: async (_root, { input }, context) => {
      const pipeline = await redeployRelease(context.db.http, context.config, await context.caller(), {
        releaseId: input.releaseId.id,
        environmentName: input.environmentName,
      });
      await context.publishPipelineEvents({ projectId: pipeline.projectId });
      return { pipeline };
    },
  },
  { name: 'RedeployReleasePayload', outputFields: (t) => ({ pipeline: t.field({ type: PipelineNode, resolve: (payload) => payload.pipeline }) }) },
);

builder.relayMutationField(
  'addReleaseParticipant',
  {
    name: 'AddReleaseParticipantInput',
    inputFields: (t) => ({
      releaseId: t.globalID({ for: ReleaseNode, required: true }),
      userId: t.globalID({ for: UserNode }),
      teamId: t.globalID({ for: TeamNode, description: 'A team of the release organization. Give a user or a team.' }),
    }),
  },
  {
    description: 'Adds a user or a team to notify about a release.',
    resolve: async (_root, { input }, context) => ({
      participant: await addReleaseParticipant(context.db.http, await context.caller(), {
        releaseId: input.releaseId.id,
        userId: input.userId?.id,
        teamId: input.teamId?.id,
      }),
    }),
  },
  {
    name: 'AddReleaseParticipantPayload',
    outputFields: (t) => ({ participant: t.field({ type: ParticipantRef, resolve: (payload) => payload.participant }) }),
  },
);

builder.relayMutationField(
  'removeReleaseParticipant',
  {
    name: 'RemoveReleaseParticipantInput',
    inputFields: (t) => ({
      releaseId: t.globalID({ for: ReleaseNode, required: true }),
      userId: t.globalID({ for: UserNode }),
      teamId: t.globalID({ for: TeamNode, description: 'Give the user or the team to remove.' }),
    }),
  },
  {
    description: 'Removes a participant from a release.',
    resolve: async (_root, { input }, context) => ({
      participant: await removeReleaseParticipant(context.db.http, await context.caller(), {
        releaseId: input.releaseId.id,
        userId: input.userId?.id,
        teamId: input.teamId?.id,
      }),
    }),
  },
  {
    name: 'RemoveReleaseParticipantPayload',
    outputFields: (t) => ({ participant: t.field({ type: ParticipantRef, resolve: (payload) => payload.participant }) }),
  },
);

builder.relayMutationField(
  'createReleaseComment',
  {
    name: 'CreateReleaseCommentInput',
    inputFields: (t) => ({
      releaseId: t.globalID({ for: ReleaseNode, required: true }),
      text: t.string({ required: true, description: 'Markdown, 1 to 10,000 characters.', extensions: { multiline: true } }),
      parentId: t.globalID({ for: CommentRef, description: 'Replies to this comment (its thread).' }),
    }),
  },
  {
    description: 'Comments on a release, or replies to a comment.',
    resolve: async (_root, { input }, context) => ({
      comment: await createReleaseComment(context.db.http, await context.caller(), {
        releaseId: input.releaseId.id,
        text: input.text,
        parentId: input.parentId?.id,
      }),
    }),
  },
  { name: 'CreateReleaseCommentPayload', outputFields: (t) => ({ comment: t.field({ type: CommentRef, resolve: (payload) => payload.comment }) }) },
);

builder.relayMutationField(
  'updateReleaseComment',
  {
    name: 'UpdateReleaseCommentInput',
    inputFields: (t) => ({
      id: t.globalID({ for: CommentRef, required: true }),
      text: t.string({ required: true, extensions: { multiline: true } }),
      metadata: t.field({ type: ResourceMetadataInput }),
    }),
  },
  {
    description: 'Edits a comment: its author only.',
    resolve: async (_root, { input }, context) => ({
      comment: await updateReleaseComment(context.db.http, await context.caller(), {
        id: input.id.id,
        text: input.text,
        version: parseVersion(input.metadata),
      }),
    }),
  },
  { name: 'UpdateReleaseCommentPayload', outputFields: (t) => ({ comment: t.field({ type: CommentRef, resolve: (payload) => payload.comment }) }) },
);

builder.relayMutationField(
  'deleteReleaseComment',
  {
    name: 'DeleteReleaseCommentInput',
    inputFields: (t) => ({
      id: t.globalID({ for: CommentRef, required: true }),
      metadata: t.field({ type: ResourceMetadataInput }),
    }),
  },
  {
    description: 'Deletes a comment and its replies: its author only.',
    resolve: async (_root, { input }, context) => ({
      comment: await deleteReleaseComment(context.db.http, await context.caller(), {
        id: input.id.id,
        version: parseVersion(input.metadata),
      }),
    }),
  },
  { name: 'DeleteReleaseCommentPayload', outputFields: (t) => ({ comment: t.field({ type: CommentRef, resolve: (payload) => payload.comment }) }) },
);

builder.relayMutationField(
  'deleteReleaseAsset',
  {
    name: 'DeleteReleaseAssetInput',
    inputFields: (t) => ({
      releaseId: t.globalID({ for: ReleaseNode, required: true }),
      name: t.string({ required: true }),
    }),
  },
  {
    description: 'Deletes an asset of a release (its file too).',
    resolve: async (_root, { input }, context) => ({
      asset: await deleteReleaseAsset(context.db.http, context.objects(), await context.caller(), { releaseId: input.releaseId.id, name: input.name }),
    }),
  },
  { name: 'DeleteReleaseAssetPayload', outputFields: (t) => ({ asset: t.field({ type: AssetRef, resolve: (payload) => payload.asset }) }) },
);

const ChangeKindEnum = builder.enumType('ReleaseChangeKind', { values: ['ADDED', 'REMOVED', 'CHANGED'] as const });

const TemplateChangeRef = builder.objectRef<TemplateChange>('ReleaseTemplateChange').implement({
  description: 'An environment deploying with another template version (environmentName null: the default template).',
  fields: (t) => ({
    environmentName: t.exposeString('environmentName', { nullable: true }),
    fromPipelineTemplate: t.field({ type: PipelineTemplateNode, nullable: true, resolve: (change) => change.fromTemplateId }),
    toPipelineTemplate: t.field({ type: PipelineTemplateNode, nullable: true, resolve: (change) => change.toTemplateId }),
  }),
});

const VariableChangeRef = builder.objectRef<VariableChange>('ReleaseVariableChange').implement({
  description: 'A variable added, removed or given another value; a sensitive one by name only (from and to null).',
  fields: (t) => ({
    key: t.exposeString('key'),
    change: t.field({ type: ChangeKindEnum, resolve: (change) => change.change }),
    sensitive: t.exposeBoolean('sensitive'),
    from: t.exposeString('from', { nullable: true, description: 'The JSON value before.' }),
    to: t.exposeString('to', { nullable: true, description: 'The JSON value after.' }),
  }),
});

const AssetChangeRef = builder.objectRef<AssetChange>('ReleaseAssetChange').implement({
  description: 'An asset added, removed, or of the same name with other content (by SHA-256).',
  fields: (t) => ({
    name: t.exposeString('name'),
    change: t.field({ type: ChangeKindEnum, resolve: (change) => change.change }),
    fromSha256: t.exposeString('fromSha256', { nullable: true }),
    toSha256: t.exposeString('toSha256', { nullable: true }),
  }),
});

const ReleaseChangesRef = builder.objectRef<ReleaseChanges>('ReleaseChanges').implement({
  description: 'What changes from one release of a project to another.',
  fields: (t) => ({
    from: t.field({ type: ReleaseNode, resolve: (changes) => changes.fromReleaseId }),
    to: t.field({ type: ReleaseNode, resolve: (changes) => changes.toReleaseId }),
    templates: t.field({ type: [TemplateChangeRef], resolve: (changes) => changes.templates }),
    variables: t.field({ type: [VariableChangeRef], resolve: (changes) => changes.variables }),
    assets: t.field({ type: [AssetChangeRef], resolve: (changes) => changes.assets }),
    lifecycleChanged: t.exposeBoolean('lifecycleChanged'),
  }),
});

builder.queryField('releaseChanges', (t) =>
  t.field({
    type: ReleaseChangesRef,
    description: 'What changes from release `from` to release `to` of the same project: templates, variables, assets, lifecycle.',
    args: {
      from: t.arg.globalID({ for: ReleaseNode, required: true }),
      to: t.arg.globalID({ for: ReleaseNode, required: true }),
    },
    resolve: async (_root, args, context) =>
      releaseChanges(context.db.http, context.config, await context.caller(), { fromId: args.from.id, toId: args.to.id }),
  }),
);
