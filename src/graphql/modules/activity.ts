// The activity log, as the Phobos API exposes it:
//   query { activityEvents(organizationId: "prn:organization:acme", actions: ["update", "delete"], first: 20) {
//     totalCount edges { node { action targetType targetId targetPrn initiator { kind id name } createdAt payload } } pageInfo { endCursor hasNextPage } } }
// Newest first; every filter is optional. What the caller may see is decided in the domain service.
import type { GlobalId } from '../global-ids';
import { cursorKey, pageActivityEvents, type ActivityRow } from '../../domain/activity/service';
import { ReleaseNode } from './releases';
import { builder } from '../builder';
import { keysetConnection } from '../connections';
import { OrganizationNode } from './organizations';
import { ProjectNode } from './projects';
import { ServiceAccountNode, UserNode } from './viewer';

// Type names that are not the target type in PascalCase (an acronym kept upper-case).
const typenameExceptions: Record<string, string> = { vcs_provider: 'VCSProvider' };

/** The GraphQL type a target type's ids belong to: `service_account` → `ServiceAccount`. */
function typenameOf(targetType: string): string {
  return typenameExceptions[targetType] ?? targetType.replace(/(^|_)([a-z])/g, (_match, _separator, letter: string) => letter.toUpperCase());
}

const ActivityInitiatorRef = builder.objectRef<ActivityRow>('ActivityInitiator').implement({
  description: 'Who did it: a user, a service account, or the system itself. Kept as it was, even after the initiator is gone.',
  fields: (t) => ({
    kind: t.string({ description: '`user`, `service_account` or `system`.', resolve: (event) => event.initiatorKind }),
    id: t.globalID({
      nullable: true,
      description: "The User's or ServiceAccount's id; null for the system.",
      resolve: (event) => (event.initiatorId ? { type: event.initiatorKind === 'user' ? 'User' : 'ServiceAccount', id: event.initiatorId } : null),
    }),
    name: t.string({ description: 'The username or account name at the time.', resolve: (event) => event.initiatorName }),
  }),
});

const ActivityEventRef = builder.objectRef<ActivityRow>('ActivityEvent').implement({
  description: 'One change: who did what to which target, when, with a small payload.',
  fields: (t) => ({
    id: t.globalID({ resolve: (event) => ({ type: 'ActivityEvent', id: event.id }) }),
    initiator: t.field({ type: ActivityInitiatorRef, resolve: (event) => event }),
    action: t.exposeString('action', { description: 'What was done: create, update, delete, revoke, add_trust_policy, sign_in, ...' }),
    targetType: t.exposeString('targetType', { description: 'What kind of thing: organization, project, service_account, api_key, resource_limit, user, ...' }),
    targetId: t.globalID({
      nullable: true,
      description: 'The global id of the target (it may no longer exist).',
      resolve: (event) => (event.targetId ? { type: typenameOf(event.targetType), id: event.targetId } : null),
    }),
    targetPrn: t.exposeString('targetPrn', { nullable: true, description: "The target's PRN as it was; API keys have none." }),
    organization: t.field({
      type: OrganizationNode,
      nullable: true,
      description: 'The organization it happened in, while it exists.',
      resolve: (event) => event.organizationId,
    }),
    project: t.field({ type: ProjectNode, nullable: true, description: 'The project it happened in, while it exists.', resolve: (event) => event.projectId }),
    createdAt: t.field({ type: 'Time', resolve: (event) => event.createdAt }),
    payload: t.string({
      description: 'A small JSON object describing the change, e.g. {"value":{"old":10,"new":20}}.',
      resolve: (event) => JSON.stringify(event.payload),
    }),
  }),
});

const TimeRangeInput = builder.inputType('TimeRangeInput', {
  description: 'Both ends included; either may be left open.',
  fields: (t) => ({
    start: t.field({ type: 'Time' }),
    end: t.field({ type: 'Time' }),
  }),
});

function initiatorOf(id: GlobalId | null | undefined) {
  if (!id) return undefined;
  return { kind: id.typename === 'User' ? ('user' as const) : ('service_account' as const), id: id.id };
}

builder.queryField('activityEvents', (t) =>
  t.connection(
    {
      type: ActivityEventRef,
      description: 'The activity log, newest first: the events the caller may see that match every filter given.',
      args: {
        organizationId: t.arg.globalID({ for: OrganizationNode }),
        projectId: t.arg.globalID({ for: ProjectNode }),
        initiatorId: t.arg.globalID({ for: [UserNode, ServiceAccountNode], description: 'A user or service account.' }),
        timeRange: t.arg({ type: TimeRangeInput }),
        actions: t.arg.stringList({ description: 'Any of these actions, e.g. ["create", "delete"].' }),
        targetTypes: t.arg.stringList({ description: 'Any of these target types, e.g. ["project"].' }),
        releaseId: t.arg.globalID({
          for: ReleaseNode,
          description: "A release's feed: the release, its comments, its pipelines (lifecycle and deployments) and their nodes.",
        }),
      },
      resolve: async (_root, args, context) => {
        const caller = await context.caller();
        return keysetConnection<ActivityRow>(args, cursorKey, (page) =>
          pageActivityEvents(
            context.db.http,
            caller,
            {
              organizationId: args.organizationId?.id,
              projectId: args.projectId?.id,
              initiator: initiatorOf(args.initiatorId),
              timeRange: args.timeRange ? { start: args.timeRange.start ?? undefined, end: args.timeRange.end ?? undefined } : undefined,
              actions: args.actions ?? undefined,
              targetTypes: args.targetTypes ?? undefined,
              releaseId: args.releaseId?.id,
            },
            page,
          ),
        );
      },
    },
    { name: 'ActivityEventConnection' },
    { name: 'ActivityEventEdge' },
  ),
);
