// Jobs: one execution of a task on an agent (a gate's task has one per attempt).
//   query { job(id: "...") { status attempt tags maxDurationSeconds queuedAt finishedAt task { path } pipeline { id } } }
//   query { pipeline(id: "...") { jobs { id status } stages { tasks { latestJob { status } jobs { attempt status } } } } }
// A job's inputs are sealed for its agent and never shown. Jobs are read per request by pipeline id
// (pipeline-loaders.ts), one query however many tasks are selected.
import { waitingReason } from '../../domain/jobs/routing';
import { jobsByIds } from '../../domain/pipelines/queries';
import { getJob, type JobView } from '../../domain/pipelines/service';
import { jobStatuses } from '../../domain/pipelines/statuses';
import { builder } from '../builder';
import type { GraphQLContext } from '../context';
import { jobsOf } from '../pipeline-loaders';
import { PipelineNode, PipelineObjectMetadata, PipelineTaskNode } from './pipelines';

const JobStatusEnum = builder.enumType('JobStatus', {
  description: 'queued → pending (claimed by an agent) → running → finished | failed | canceled; canceling between a cancel request and the end.',
  values: jobStatuses,
});

export const JobNode = builder.loadableNode('Job', {
  description: "One execution of a task's actions on an agent.",
  id: { resolve: (job: JobView) => job.id },
  load: async (ids: string[], context: GraphQLContext) => jobsByIds(context.db.http, await context.caller(), ids),
  sort: (job) => job.id,
  fields: (t) => ({
    status: t.field({ type: JobStatusEnum, resolve: (job) => job.status }),
    tags: t.exposeStringList('tags', { description: 'An agent runs the job only if it has all of these tags.' }),
    maxDurationSeconds: t.exposeInt('maxDurationSeconds'),
    attempt: t.exposeInt('attempt', { description: "1 for a task's first job; a gate's later attempts count up." }),
    queuedAt: t.field({ type: 'Time', resolve: (job) => job.queuedAt }),
    pendingAt: t.field({ type: 'Time', nullable: true, description: 'When an agent claimed it.', resolve: (job) => job.pendingAt }),
    runningAt: t.field({ type: 'Time', nullable: true, resolve: (job) => job.runningAt }),
    cancelRequestedAt: t.field({ type: 'Time', nullable: true, resolve: (job) => job.cancelRequestedAt }),
    finishedAt: t.field({ type: 'Time', nullable: true, description: 'When it ended (finished, failed or canceled).', resolve: (job) => job.finishedAt }),
    pipeline: t.field({ type: PipelineNode, resolve: (job) => job.pipelineId }),
    task: t.field({ type: PipelineTaskNode, resolve: (job) => job.nodeId }),
    outputs: t.string({
      description: 'The outputs its actions reported, as a JSON object by action alias ({} until it has finished).',
      resolve: (job) => JSON.stringify(job.outputs),
    }),
    waitingReason: t.string({
      nullable: true,
      description: 'Why a QUEUED job has no agent yet: no enabled agent with an active session can take it (its tags, or untagged). Null otherwise.',
      resolve: (job) => (job.status === 'QUEUED' && job.agentId === null ? waitingReason(job) : null),
    }),
    metadata: t.field({ type: PipelineObjectMetadata, resolve: (job) => job }),
  }),
});

builder.queryField('job', (t) =>
  t.field({
    type: JobNode,
    description: 'One job, by its global id.',
    args: { id: t.arg.globalID({ for: JobNode, required: true }) },
    resolve: async (_root, { id }, context) => getJob(context.db.http, await context.caller(), id.id),
  }),
);

builder.objectField(PipelineNode, 'jobs', (t) =>
  t.field({
    type: [JobNode],
    description: "Every job of the pipeline's tasks, oldest first.",
    extensions: { listSize: 50 },
    resolve: (pipeline, _args, context) => jobsOf(context).load(pipeline.id),
  }),
);

builder.objectFields(PipelineTaskNode, (t) => ({
  jobs: t.field({
    type: [JobNode],
    description: 'Its jobs, oldest first: one per run, and one per attempt of a gate.',
    extensions: { listSize: 5 },
    resolve: async (task, _args, context) => (await jobsOf(context).load(task.pipelineId)).filter((job) => job.nodeId === task.id),
  }),
  latestJob: t.field({
    type: JobNode,
    nullable: true,
    description: 'Its newest job; null before its first.',
    resolve: async (task, _args, context) => (await jobsOf(context).load(task.pipelineId)).filter((job) => job.nodeId === task.id).at(-1) ?? null,
  }),
}));
