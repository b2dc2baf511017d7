// Live pipeline and job events, as GraphQL subscriptions over Server-Sent Events:
//   subscription { projectEvents(projectId: "...", afterEventId: "41") { id kind pipelineId jobId payload createdAt } }
//   subscription { pipelineEvents(pipelineId: "...") { id kind payload } }
//   subscription { jobEvents(jobId: "...", afterEventId: "41") { id kind payload } }
//   subscription { releaseEvents(releaseId: "prn:release:acme/web/1.4.0") { id kind pipelineId payload } }
// POST /graphql with `Accept: text/event-stream`; each event is an SSE `next` message. A client that
// reconnects passes the last `id` it received as `afterEventId` and gets exactly what it missed.
// Authorization (pipeline:view in the project), replay and de-duplication are the domain's
// (src/domain/pipelines/subscribe.ts).
import type { HubEvent } from '../../durable/project-event-hub';
import { parseEventId, subscribePipelineEvents, type EventSubscriptionTarget } from '../../domain/pipelines/subscribe';
import { builder } from '../builder';
import type { GraphQLContext } from '../context';
import { JobNode } from './jobs';
import { PipelineNode } from './pipelines';
import { ProjectNode } from './projects';
import { ReleaseNode } from './releases';

const PipelineEventRef = builder.objectRef<HubEvent>('PipelineEvent').implement({
  description: 'Something that happened to a pipeline, one of its nodes or approvals, or a job, as the engine recorded it.',
  fields: (t) => ({
    id: t.string({
      description: 'Increases with every event of the project, in commit order; give the last one received as `afterEventId` to resume.',
      resolve: (event) => String(event.id),
    }),
    kind: t.exposeString('kind', { description: '`pipeline`, `node`, `approval` or `job`, a dot, and what happened: `node.status_changed`.' }),
    pipelineId: t.globalID({
      nullable: true,
      description: 'A Pipeline id.',
      resolve: (event) => (event.pipelineId ? { type: 'Pipeline', id: event.pipelineId } : null),
    }),
    jobId: t.globalID({ nullable: true, description: 'A Job id.', resolve: (event) => (event.jobId ? { type: 'Job', id: event.jobId } : null) }),
    releaseId: t.globalID({
      nullable: true,
      description: 'The Release the pipeline belongs to (its lifecycle or one of its deployments).',
      resolve: (event) => (event.releaseId ? { type: 'Release', id: event.releaseId } : null),
    }),
    payload: t.field({ type: 'JSON', description: 'Ids, statuses and names; never variable values.', resolve: (event) => event.payload }),
    createdAt: t.field({ type: 'Time', resolve: (event) => event.createdAt }),
  }),
});

const afterEventIdDescription = 'Resume after this event (its `id`): every later event is sent first, in order. Without it, events from now on.';

async function subscribe(context: GraphQLContext, target: EventSubscriptionTarget, afterEventId: string | null | undefined) {
  const after = parseEventId(afterEventId);
  return subscribePipelineEvents(context.db.http, context.env.PROJECT_EVENT_HUB, await context.caller(), target, after);
}

builder.subscriptionField('projectEvents', (t) =>
  t.field({
    type: PipelineEventRef,
    description: 'Every pipeline event of a project (needs pipeline:view in the project).',
    args: {
      projectId: t.arg.globalID({ for: ProjectNode, required: true }),
      afterEventId: t.arg.string({ description: afterEventIdDescription }),
    },
    subscribe: (_root, args, context) => subscribe(context, { projectId: args.projectId.id }, args.afterEventId),
    resolve: (event) => event,
  }),
);

builder.subscriptionField('pipelineEvents', (t) =>
  t.field({
    type: PipelineEventRef,
    description: "One pipeline's events (needs pipeline:view in its project).",
    args: {
      pipelineId: t.arg.globalID({ for: PipelineNode, required: true }),
      afterEventId: t.arg.string({ description: afterEventIdDescription }),
    },
    subscribe: (_root, args, context) => subscribe(context, { pipelineId: args.pipelineId.id }, args.afterEventId),
    resolve: (event) => event,
  }),
);

builder.subscriptionField('jobEvents', (t) =>
  t.field({
    type: PipelineEventRef,
    description: "One job's events (needs pipeline:view in its project).",
    args: {
      jobId: t.arg.globalID({ for: JobNode, required: true }),
      afterEventId: t.arg.string({ description: afterEventIdDescription }),
    },
    subscribe: (_root, args, context) => subscribe(context, { jobId: args.jobId.id }, args.afterEventId),
    resolve: (event) => event,
  }),
);

builder.subscriptionField('releaseEvents', (t) =>
  t.field({
    type: PipelineEventRef,
    description: "A release's events: its lifecycle pipeline's and every deployment's (needs pipeline:view in its project).",
    args: {
      releaseId: t.arg.globalID({ for: ReleaseNode, required: true }),
      afterEventId: t.arg.string({ description: afterEventIdDescription }),
    },
    subscribe: (_root, args, context) => subscribe(context, { releaseId: args.releaseId.id }, args.afterEventId),
    resolve: (event) => event,
  }),
);
