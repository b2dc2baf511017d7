// Deployment gates: change windows (per environment or organization-wide), the organization's
// "stop the line", and each environment's queue of waiting deployments:
//   query { project(id: "...") { environments { name changeWindows { name kind recurrence daysOfWeek startTime endTime timeZone }
//     deploymentQueue { position holdReason holdUntil pipeline { id status } } } } }
//   query { organization(name: "acme") { deploymentsStopped { reason stoppedBy stoppedAt } changeWindows { id name } } }
//   mutation { createChangeWindow(input: { environmentId: "...", name: "weekend", kind: DENY, recurrence: WEEKLY,
//     daysOfWeek: [SATURDAY, SUNDAY], startTime: "00:00", endTime: "23:59", timeZone: "Europe/Berlin" }) { changeWindow { id } } }
//   mutation { createChangeWindow(input: { organizationId: "...", name: "freeze", kind: DENY, recurrence: ONCE,
//     startsAt: "2026-12-20T00:00:00Z", endsAt: "2027-01-04T00:00:00Z" }) { changeWindow { id } } }
//   mutation { deleteChangeWindow(input: { id: "..." }) { changeWindow { id } } }
//   mutation { stopDeployments(input: { organizationId: "...", reason: "incident 42" }) { deploymentStop { stoppedAt } } }
//   mutation { resumeDeployments(input: { organizationId: "..." }) { deploymentStop { reason } } }
//   mutation { rollbackEnvironment(input: { environmentId: "..." }) { pipeline { id status holdReason } } }
//   mutation { resumeEnvironmentPromotion(input: { environmentId: "..." }) { promotionPause { reason } } }
// Who may see and change them is decided in the domain services.
import {
  changeWindowsByIds,
  createChangeWindow,
  deleteChangeWindow,
  deploymentStopOf,
  listChangeWindows,
  resumeDeployments,
  stopDeployments,
  type DeploymentStopView,
} from '../../domain/change-windows/service';
import { deploymentQueue, type QueuedDeploymentView } from '../../domain/pipelines/deployments';
import { promotionPauseOf, resumePromotion, rollbackEnvironment, type PromotionPauseView } from '../../domain/pipelines/rollback';
import { builder } from '../builder';
import type { GraphQLContext } from '../context';
import { EnvironmentNode } from './environments';
import { OrganizationNode } from './organizations';
import { PipelineNode } from './pipelines';

const days = ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY', 'SUNDAY'] as const;

const DayOfWeekEnum = builder.enumType('DayOfWeek', { values: days });
const ChangeWindowKindEnum = builder.enumType('ChangeWindowKind', {
  values: {
    ALLOW: { description: 'Deployments may start only inside ALLOW windows, when the environment or organization has any.' },
    DENY: { description: 'Deployments never start inside.' },
  },
});
const ChangeWindowRecurrenceEnum = builder.enumType('ChangeWindowRecurrence', {
  values: {
    WEEKLY: { description: 'On daysOfWeek, from startTime to endTime (the next day when endTime is not later), wall-clock time in timeZone.' },
    ONCE: { description: 'From startsAt to endsAt.' },
  },
});

const ChangeWindowNode = builder.loadableNode('ChangeWindow', {
  description: 'When deployments of an environment (or of every environment of an organization) may or may not start.',
  id: { resolve: (window) => window.id },
  load: async (ids: string[], context: GraphQLContext) => changeWindowsByIds(context.db.http, await context.caller(), ids),
  sort: (window) => window.id,
  fields: (t) => ({
    name: t.exposeString('name'),
    kind: t.field({ type: ChangeWindowKindEnum, resolve: (window) => window.kind }),
    recurrence: t.field({ type: ChangeWindowRecurrenceEnum, resolve: (window) => window.recurrence }),
    daysOfWeek: t.field({ type: [DayOfWeekEnum], resolve: (window) => window.daysOfWeek.map((day) => days[day - 1]!) }),
    startTime: t.exposeString('startTime', { nullable: true, description: 'HH:MM, WEEKLY windows.' }),
    endTime: t.exposeString('endTime', { nullable: true, description: 'HH:MM, WEEKLY windows.' }),
    timeZone: t.exposeString('timeZone', { nullable: true, description: 'IANA time zone of a WEEKLY window.' }),
    startsAt: t.field({ type: 'Time', nullable: true, resolve: (window) => window.startsAt }),
    endsAt: t.field({ type: 'Time', nullable: true, resolve: (window) => window.endsAt }),
    environment: t.field({
      type: EnvironmentNode,
      nullable: true,
      description: 'Null for an organization-wide window.',
      resolve: (window) => window.environmentId,
    }),
    organization: t.field({ type: OrganizationNode, resolve: (window) => window.organizationId }),
    createdBy: t.exposeString('createdBy'),
    createdAt: t.field({ type: 'Time', resolve: (window) => window.createdAt }),
  }),
});

const DeploymentStopRef = builder.objectRef<DeploymentStopView>('DeploymentStop').implement({
  description: "An organization's stopped line: no deployment starts until it is lifted.",
  fields: (t) => ({
    reason: t.exposeString('reason'),
    stoppedBy: t.exposeString('stoppedBy'),
    stoppedAt: t.field({ type: 'Time', resolve: (stop) => stop.stoppedAt }),
  }),
});

const QueuedDeploymentRef = builder.objectRef<QueuedDeploymentView>('QueuedDeployment').implement({
  description: 'A deployment waiting in its environment’s queue.',
  fields: (t) => ({
    position: t.exposeInt('position', { description: '1 starts next.' }),
    holdReason: t.exposeString('holdReason', { description: 'Why it waits: the environment busy, a change window, the stopped line.' }),
    holdUntil: t.field({ type: 'Time', nullable: true, description: 'When a change window holding it opens or closes.', resolve: (item) => item.holdUntil }),
    queuedAt: t.field({ type: 'Time', resolve: (item) => item.queuedAt }),
    rollback: t.exposeBoolean('rollback', { description: 'A rollback, ahead of the others.' }),
    pipeline: t.field({ type: PipelineNode, resolve: (item) => item.pipelineId }),
  }),
});

const PromotionPauseRef = builder.objectRef<PromotionPauseView>('EnvironmentPromotionPause').implement({
  description: "An environment's paused automatic promotion (after a rollback): release lifecycles' deployments into it wait until it is resumed.",
  fields: (t) => ({
    reason: t.exposeString('reason'),
    pausedBy: t.exposeString('pausedBy'),
    pausedAt: t.field({ type: 'Time', resolve: (pause) => pause.pausedAt }),
  }),
});

builder.objectFields(EnvironmentNode, (t) => ({
  promotionPaused: t.field({
    type: PromotionPauseRef,
    nullable: true,
    description: 'Set while automatic promotion into the environment is paused (rollbackEnvironment pauses it); null otherwise.',
    resolve: async (environment, _args, context) => promotionPauseOf(context.db.http, await context.caller(), environment),
  }),
  changeWindows: t.field({
    type: [ChangeWindowNode],
    description: "The environment's own change windows, by name (the organization's apply too: Organization.changeWindows).",
    resolve: async (environment, _args, context) =>
      listChangeWindows(context.db.http, await context.caller(), {
        organizationId: environment.organizationId,
        projectId: environment.projectId,
        environmentId: environment.id,
      }),
  }),
  deploymentQueue: t.field({
    type: [QueuedDeploymentRef],
    description: 'Deployments waiting to start here, in the order they will (needs pipeline:view).',
    resolve: async (environment, _args, context) =>
      deploymentQueue(context.db.http, await context.caller(), { projectId: environment.projectId, environmentName: environment.name }),
  }),
}));

builder.objectFields(OrganizationNode, (t) => ({
  changeWindows: t.field({
    type: [ChangeWindowNode],
    description: 'Change windows applying to every environment of the organization, by name.',
    resolve: async (organization, _args, context) =>
      listChangeWindows(context.db.http, await context.caller(), { organizationId: organization.id, projectId: null, environmentId: null }),
  }),
  deploymentsStopped: t.field({
    type: DeploymentStopRef,
    nullable: true,
    description: 'The stopped line, while deployments of the organization are held; null otherwise.',
    resolve: async (organization, _args, context) => deploymentStopOf(context.db.http, await context.caller(), organization.id),
  }),
}));

builder.objectFields(PipelineNode, (t) => ({
  holdReason: t.exposeString('holdReason', { nullable: true, description: 'A WAITING deployment: why it has not started (see Environment.deploymentQueue).' }),
}));

builder.relayMutationField(
  'createChangeWindow',
  {
    name: 'CreateChangeWindowInput',
    inputFields: (t) => ({
      environmentId: t.globalID({ for: EnvironmentNode, description: 'The environment; or organizationId for an organization-wide window.' }),
      organizationId: t.globalID({ for: OrganizationNode }),
      name: t.string({ required: true }),
      kind: t.field({ type: ChangeWindowKindEnum, required: true }),
      recurrence: t.field({ type: ChangeWindowRecurrenceEnum, required: true }),
      daysOfWeek: t.field({ type: [DayOfWeekEnum] }),
      startTime: t.string({ description: 'HH:MM' }),
      endTime: t.string({ description: 'HH:MM; not later than startTime: the window closes the next day.' }),
      timeZone: t.string({ description: 'IANA time zone, e.g. Europe/Berlin.' }),
      startsAt: t.field({ type: 'Time' }),
      endsAt: t.field({ type: 'Time' }),
    }),
  },
  {
    description: 'Adds a change window to an environment or, organization-wide, to every environment (needs environment:manage).',
    resolve: async (_root, { input }, context) => ({
      changeWindow: await createChangeWindow(context.db.http, await context.caller(), {
        environmentId: input.environmentId?.id,
        organizationId: input.organizationId?.id,
        name: input.name,
        kind: input.kind,
        recurrence: input.recurrence,
        daysOfWeek: input.daysOfWeek?.map((day) => days.indexOf(day) + 1),
        startTime: input.startTime ?? undefined,
        endTime: input.endTime ?? undefined,
        timeZone: input.timeZone ?? undefined,
        startsAt: input.startsAt ?? undefined,
        endsAt: input.endsAt ?? undefined,
      }),
    }),
  },
  {
    name: 'CreateChangeWindowPayload',
    outputFields: (t) => ({ changeWindow: t.field({ type: ChangeWindowNode, resolve: (payload) => payload.changeWindow }) }),
  },
);

builder.relayMutationField(
  'deleteChangeWindow',
  { name: 'DeleteChangeWindowInput', inputFields: (t) => ({ id: t.globalID({ for: ChangeWindowNode, required: true }) }) },
  {
    description: 'Removes a change window; deployments it held start at once if nothing else holds them.',
    resolve: async (_root, { input }, context) => ({
      changeWindow: await deleteChangeWindow(context.db.http, context.config, await context.caller(), { id: input.id.id }),
    }),
  },
  {
    name: 'DeleteChangeWindowPayload',
    outputFields: (t) => ({ changeWindow: t.field({ type: ChangeWindowNode, resolve: (payload) => payload.changeWindow }) }),
  },
);

builder.relayMutationField(
  'stopDeployments',
  {
    name: 'StopDeploymentsInput',
    inputFields: (t) => ({
      organizationId: t.globalID({ for: OrganizationNode, required: true }),
      reason: t.string({ required: true }),
    }),
  },
  {
    description: 'Stops the line: no deployment of the organization starts until resumeDeployments (needs environment:manage on the organization).',
    resolve: async (_root, { input }, context) => ({
      deploymentStop: await stopDeployments(context.db.http, await context.caller(), { organizationId: input.organizationId.id, reason: input.reason }),
    }),
  },
  {
    name: 'StopDeploymentsPayload',
    outputFields: (t) => ({ deploymentStop: t.field({ type: DeploymentStopRef, resolve: (payload) => payload.deploymentStop }) }),
  },
);

builder.relayMutationField(
  'resumeDeployments',
  { name: 'ResumeDeploymentsInput', inputFields: (t) => ({ organizationId: t.globalID({ for: OrganizationNode, required: true }) }) },
  {
    description: "Lifts the organization's stop: the deployments it held start, each environment's first in queue order.",
    resolve: async (_root, { input }, context) => ({
      deploymentStop: await resumeDeployments(context.db.http, context.config, await context.caller(), { organizationId: input.organizationId.id }),
    }),
  },
  {
    name: 'ResumeDeploymentsPayload',
    outputFields: (t) => ({ deploymentStop: t.field({ type: DeploymentStopRef, resolve: (payload) => payload.deploymentStop }) }),
  },
);

builder.relayMutationField(
  'rollbackEnvironment',
  { name: 'RollbackEnvironmentInput', inputFields: (t) => ({ environmentId: t.globalID({ for: EnvironmentNode, required: true }) }) },
  {
    description:
      "Redeploys the environment's previous successful deployment from its stored snapshot, at the front of its queue, and pauses automatic " +
      'promotion into it until resumeEnvironmentPromotion (needs pipeline:execute and the protection rules).',
    resolve: async (_root, { input }, context) => {
      const pipeline = await rollbackEnvironment(context.db.http, context.config, await context.caller(), { environmentId: input.environmentId.id });
      await context.publishPipelineEvents({ projectId: pipeline.projectId });
      return { pipeline };
    },
  },
  {
    name: 'RollbackEnvironmentPayload',
    outputFields: (t) => ({ pipeline: t.field({ type: PipelineNode, resolve: (payload) => payload.pipeline }) }),
  },
);

builder.relayMutationField(
  'resumeEnvironmentPromotion',
  { name: 'ResumeEnvironmentPromotionInput', inputFields: (t) => ({ environmentId: t.globalID({ for: EnvironmentNode, required: true }) }) },
  {
    description: "Resumes automatic promotion into the environment: release lifecycles' deployments waiting for it move on (needs environment:manage).",
    resolve: async (_root, { input }, context) => ({
      promotionPause: await resumePromotion(context.db.http, context.config, await context.caller(), { environmentId: input.environmentId.id }),
    }),
  },
  {
    name: 'ResumeEnvironmentPromotionPayload',
    outputFields: (t) => ({ promotionPause: t.field({ type: PromotionPauseRef, resolve: (payload) => payload.promotionPause }) }),
  },
);
