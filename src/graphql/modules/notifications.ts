// Notification preferences (each user their own) and the email outbox (system admins):
//   query { notificationPreferences { kind project { name } enabled } }
//   mutation { setNotificationPreference(input: { kind: PIPELINE_FAILED, projectId: "…", enabled: false }) { preference { kind enabled } } }
//   mutation { clearNotificationPreference(input: { kind: PIPELINE_FAILED }) { cleared } }
//   query { emailOutbox(status: DEAD, first: 20) { recipient subject status attempts lastError } }
import { listEmailOutbox } from '../../domain/notifications/outbox-view';
import { clearNotificationPreference, listNotificationPreferences, setNotificationPreference } from '../../domain/notifications/preferences';
import type { emailStatuses, notificationKinds, NotificationPreferenceRow } from '../../db/schema';
import { builder } from '../builder';
import { ProjectNode } from './projects';

const NotificationKindEnum = builder.enumType('NotificationKind', {
  values: {
    APPROVAL_REQUESTED: { description: 'A stage, task, nested pipeline or deployment waits for your approval.' },
    MANUAL_TASK_WAITING: { description: 'A manual task or nested pipeline waits to be started in a project where you may run pipelines.' },
    PIPELINE_FAILED: { description: 'A pipeline you started, or a deployment of a release you take part in, failed.' },
    RELEASE_FINISHED: { description: 'A release you take part in finished (succeeded, failed or was canceled).' },
    RELEASE_DUE_DATE: { description: 'A release you take part in is due soon, or past its due date.' },
  } satisfies Record<(typeof notificationKinds)[number], unknown>,
});

const EmailStatusEnum = builder.enumType('EmailStatus', {
  values: {
    PENDING: { description: 'Not sent yet (or being retried: see attempts and lastError).' },
    SENT: { description: 'Accepted by the email service.' },
    DEAD: { description: 'Given up after the last attempt: a dead letter.' },
  } satisfies Record<(typeof emailStatuses)[number], unknown>,
});

const NotificationPreferenceRef = builder.objectRef<NotificationPreferenceRow>('NotificationPreference').implement({
  description: 'Your choice for one kind of notification, everywhere (no project) or in one project (which wins).',
  fields: (t) => ({
    kind: t.field({ type: NotificationKindEnum, resolve: (row) => row.kind }),
    project: t.field({ type: ProjectNode, nullable: true, resolve: (row) => row.projectId }),
    enabled: t.exposeBoolean('enabled'),
    updatedAt: t.field({ type: 'Time', resolve: (row) => row.updatedAt }),
  }),
});

type OutboxRow = Awaited<ReturnType<typeof listEmailOutbox>>[number];
const EmailOutboxEntryRef = builder.objectRef<OutboxRow>('EmailOutboxEntry').implement({
  description: 'One email of the outbox (its body is not shown).',
  fields: (t) => ({
    id: t.exposeString('id'),
    recipient: t.exposeString('recipient'),
    notificationKind: t.field({ type: NotificationKindEnum, nullable: true, resolve: (row) => row.notificationKind }),
    subject: t.exposeString('subject'),
    status: t.field({ type: EmailStatusEnum, resolve: (row) => row.status }),
    attempts: t.exposeInt('attempts'),
    lastError: t.exposeString('lastError', { nullable: true }),
    nextAttemptAt: t.field({ type: 'Time', resolve: (row) => row.nextAttemptAt }),
    createdAt: t.field({ type: 'Time', resolve: (row) => row.createdAt }),
    sentAt: t.field({ type: 'Time', nullable: true, resolve: (row) => row.sentAt }),
  }),
});

builder.queryFields((t) => ({
  notificationPreferences: t.field({
    type: [NotificationPreferenceRef],
    description: 'Your notification choices. A kind without one is on.',
    resolve: async (_root, _args, context) => listNotificationPreferences(context.db.http, await context.caller()),
  }),
  emailOutbox: t.field({
    type: [EmailOutboxEntryRef],
    description: 'The newest emails of the outbox, optionally of one status (DEAD: the dead letters). System admins only.',
    args: { status: t.arg({ type: EmailStatusEnum }), first: t.arg.int({ defaultValue: 20 }) },
    resolve: async (_root, args, context) => listEmailOutbox(context.db.http, await context.caller(), { status: args.status, limit: args.first ?? 20 }),
  }),
}));

builder.relayMutationField(
  'setNotificationPreference',
  {
    name: 'SetNotificationPreferenceInput',
    inputFields: (t) => ({
      kind: t.field({ type: NotificationKindEnum, required: true }),
      projectId: t.globalID({ for: ProjectNode, description: 'One project; absent for every project.' }),
      enabled: t.boolean({ required: true }),
    }),
  },
  {
    description: 'Turns one kind of notification on or off for you, everywhere or in one project.',
    resolve: async (_root, { input }, context) => ({
      preference: await setNotificationPreference(context.db.http, await context.caller(), {
        kind: input.kind,
        projectId: input.projectId?.id ?? null,
        enabled: input.enabled,
      }),
    }),
  },
  {
    name: 'SetNotificationPreferencePayload',
    outputFields: (t) => ({ preference: t.field({ type: NotificationPreferenceRef, resolve: (payload) => payload.preference }) }),
  },
);

builder.relayMutationField(
  'clearNotificationPreference',
  {
    name: 'ClearNotificationPreferenceInput',
    inputFields: (t) => ({
      kind: t.field({ type: NotificationKindEnum, required: true }),
      projectId: t.globalID({ for: ProjectNode }),
    }),
  },
  {
    description: 'Removes your choice, so the everywhere choice (or the default, on) applies again.',
    resolve: async (_root, { input }, context) => ({
      cleared: await clearNotificationPreference(context.db.http, await context.caller(), { kind: input.kind, projectId: input.projectId?.id ?? null }),
    }),
  },
  {
    name: 'ClearNotificationPreferencePayload',
    outputFields: (t) => ({ cleared: t.boolean({ resolve: (payload) => payload.cleared }) }),
  },
);
