// Job logs in GraphQL:
//   query { job(id: "...") { logSize logTruncated logLastUpdatedAt logs(startOffset: 0, limit: 65536) } }
//   query { job(id: "...") { searchLogs(query: "error", first: 50) { matches { line offset text } more } } }
//   subscription { jobLogStreamEvents(input: { jobId: "...", lastSeenLogSize: 0 }) { completed size truncated data { offset logs } } }
// The Job fields are authorized with the job itself (pipeline:view in its project); the
// subscription checks the same. Offsets and sizes are bytes of the log as the job wrote it.
import { jobLogSize, jobLogUpdatedAt, maxLogReadBytes, maxLogSearchMatches, readJobLog, searchJobLog, subscribeJobLog } from '../../domain/job-logs/service';
import type { JobLogMatch, JobLogStreamMessage } from '../../durable/job-log';
import { builder } from '../builder';
import { JobNode } from './jobs';

const JobLogMatchRef = builder.objectRef<JobLogMatch>('JobLogMatch').implement({
  description: 'A line of a job log that matched a search.',
  fields: (t) => ({
    line: t.exposeInt('line', { description: '1-based line number.' }),
    offset: t.exposeInt('offset', { description: "Byte offset of the line's start (a `startOffset` for `logs`)." }),
    text: t.exposeString('text', { description: 'The line, without its newline (cut at 1000 characters).' }),
  }),
});

const JobLogSearchRef = builder.objectRef<{ matches: JobLogMatch[]; more: boolean }>('JobLogSearchResult').implement({
  fields: (t) => ({
    matches: t.field({ type: [JobLogMatchRef], resolve: (result) => result.matches }),
    more: t.exposeBoolean('more', { description: 'More lines matched than `first`.' }),
  }),
});

builder.objectFields(JobNode, (t) => ({
  logSize: t.int({
    description: 'Bytes of log so far (final once the job has finished).',
    resolve: async (job, _args, context) => (await jobLogSize(context.env, job)).size,
  }),
  logTruncated: t.boolean({
    description: 'The log reached PHOBOS_JOB_LOG_MAX_BYTES: later output was dropped (the log ends with a line saying so).',
    resolve: async (job, _args, context) => (await jobLogSize(context.env, job)).truncated,
  }),
  logLastUpdatedAt: t.field({
    type: 'Time',
    nullable: true,
    description: 'When the last log output arrived; null before the first.',
    resolve: (job, _args, context) => jobLogUpdatedAt(context.env, job),
  }),
  logs: t.string({
    description: `Up to \`limit\` bytes of the log from \`startOffset\`, as text (at most ${maxLogReadBytes}; never ending inside a character). Empty past the end, and once the retention (PHOBOS_JOB_LOG_RETENTION_DAYS) has deleted the log.`,
    args: {
      startOffset: t.arg.int({ defaultValue: 0 }),
      limit: t.arg.int({ defaultValue: 65536 }),
    },
    resolve: (job, args, context) => readJobLog(context.env, job, args.startOffset ?? 0, args.limit ?? 65536),
  }),
  searchLogs: t.field({
    type: JobLogSearchRef,
    description: `Lines of the log containing \`query\` (case-insensitive substring), the first \`first\` (at most ${maxLogSearchMatches}).`,
    args: {
      query: t.arg.string({ required: true }),
      first: t.arg.int({ defaultValue: 100 }),
    },
    resolve: (job, args, context) => searchJobLog(context.env, job, args.query, args.first ?? 100),
  }),
}));

const JobLogStreamEventsInput = builder.inputType('JobLogStreamEventsInput', {
  fields: (t) => ({
    jobId: t.globalID({ for: JobNode, required: true }),
    lastSeenLogSize: t.int({ description: 'Bytes of the log the viewer already has: the stream starts there (0 for all of it).', defaultValue: 0 }),
  }),
});

const JobLogDataRef = builder.objectRef<JobLogStreamMessage>('JobLogData').implement({
  fields: (t) => ({
    offset: t.exposeInt('offset', { description: 'Byte offset of `logs` in the log.' }),
    logs: t.exposeString('logs'),
  }),
});

const JobLogStreamEventRef = builder.objectRef<JobLogStreamMessage>('JobLogStreamEvent').implement({
  description: "A batch of a job's log, or (`completed`) its end.",
  fields: (t) => ({
    completed: t.exposeBoolean('completed', { description: 'The job has finished and its whole log was sent: the stream ends.' }),
    size: t.exposeInt('size', { description: 'Bytes of log so far.' }),
    truncated: t.exposeBoolean('truncated', { description: 'The log reached its cap: later output was dropped.' }),
    data: t.field({ type: JobLogDataRef, nullable: true, resolve: (message) => (message.completed && message.logs === '' ? null : message) }),
  }),
});

builder.subscriptionField('jobLogStreamEvents', (t) =>
  t.field({
    type: JobLogStreamEventRef,
    description: "A job's log as it grows, from `lastSeenLogSize`, then one event with `completed` (needs pipeline:view in its project).",
    args: { input: t.arg({ type: JobLogStreamEventsInput, required: true }) },
    subscribe: async (_root, { input }, context) =>
      subscribeJobLog(context.db.http, context.env, await context.caller(), input.jobId.id, input.lastSeenLogSize ?? 0),
    resolve: (message) => message,
  }),
);
