// What happens to jobs, and through them to the engine: a job starting to run, and its end. System
// calls (no caller): agents, when they come, authenticate with a job token and call these. Each is
// one engine transition (load the tree, apply, commit), so a job's end and what it sets off — the
// task's end, the stage's, the next task's job — commit together.
import type { HttpDatabase } from '../../db/client';
import type { JobOutputs } from '../../db/schema';
import { badInput, notFound } from '../../errors';
import { isWellFormedJson, wellFormed } from '../../db/well-formed';
import { utf8Encode } from '../../platform/encoding';
import { maxJobOutputsBytes } from '../../protocol/agent-v1';
import { onJobEnded, onJobRunning } from '../pipelines/advance';
import { isLegalJobTransition } from './state-machine';
import { runTransition, runTransitionsTogether } from '../pipelines/engine';
import type { EngineContext } from '../pipelines/advance';
import { queuesTouched } from '../pipelines/deployment-queue';
import type { Draft } from '../pipelines/draft';
import type { EngineConfig } from '../pipelines/secrets';
import { jobView, type JobView } from '../pipelines/service';

/** A job transition's outcome, and whether its commit owes the agents anything: a job it queued (a dispatch) or asked to stop (a cancel notice). */
export interface JobTransition {
  view: JobView;
  owesAgents: boolean;
}

function owesAgents(draft: Draft | undefined): boolean {
  if (!draft) return false;
  // A deployment that ended may have let the next one of its environment start (and queue jobs) in a commit of its own.
  if (queuesTouched(draft).length > 0) return true;
  for (const id of [...draft.newJobs, ...draft.changedJobs]) {
    const status = draft.tree.jobs.get(id)?.status;
    if (status === 'QUEUED' || status === 'CANCELING') return true;
  }
  return false;
}

/** A job, and its tree's root when the caller knows it (the tree's templates held in this isolate are found by it). */
export interface JobInTree {
  jobId: string;
  rootPipelineId?: string;
}

export async function markJobRunning(db: HttpDatabase, config: EngineConfig, jobId: string, now?: Date): Promise<JobView> {
  return (await markJobRunningTransition(db, config, { jobId }, now)).view;
}

/** As `markJobRunning`, saying whether the commit owes the agents anything. */
export async function markJobRunningTransition(db: HttpDatabase, config: EngineConfig, located: JobInTree, now?: Date): Promise<JobTransition> {
  const { jobId } = located;
  // The draft of the attempt that committed (the engine starts a fresh one for each attempt).
  let last: Draft | undefined;
  const job = await runTransition(
    db,
    config,
    located,
    (draft) => {
      last = draft;
      const job = draft.tree.jobs.get(jobId);
      if (!job) throw notFound('Job');
      onJobRunning(draft, job);
      return job;
    },
    now,
  );
  return { view: jobView(job), owesAgents: owesAgents(last) };
}

export interface FinishJobInput {
  status: 'FINISHED' | 'FAILED' | 'CANCELED';
  /** Outputs by action alias; only a FINISHED job's outputs are read by later expressions. */
  outputs?: JobOutputs;
  /** Why it failed or was canceled (the agent's word, or the platform's: a lease expired too often). */
  reason?: string;
}

const maxReasonLength = 4096;

export async function finishJob(db: HttpDatabase, config: EngineConfig, jobId: string, input: FinishJobInput, now?: Date): Promise<JobView> {
  return (await finishJobTransition(db, config, { jobId }, input, now)).view;
}

/** As `finishJob`, saying whether the commit owes the agents anything (the next stage's jobs, cancel notices). */
export async function finishJobTransition(
  db: HttpDatabase,
  config: EngineConfig,
  located: JobInTree,
  input: FinishJobInput,
  now?: Date,
): Promise<JobTransition> {
  const { jobId } = located;
  checkFinishInput(input);
  let last: Draft | undefined;
  const job = await runTransition(
    db,
    config,
    located,
    async (draft, ctx) => {
      last = draft;
      const job = draft.tree.jobs.get(jobId);
      if (!job) throw notFound('Job');
      if (input.reason !== undefined) job.failureReason = wellFormed(input.reason.slice(0, maxReasonLength));
      await onJobEnded(draft, ctx, job, input.status, input.outputs);
      return job;
    },
    now,
  );
  return { view: jobView(job), owesAgents: owesAgents(last) };
}

/**
 * What an agent queue reported for one job of a tree since its last write-behind (src/durable/agent-queue-write-behind.ts):
 * that it started (`runningAt`) and/or how it ended, each with the moment the agent said so.
 */
export interface JobReport {
  jobId: string;
  runningAt?: number;
  ended?: FinishJobInput;
  endedAt?: number;
}

export interface JobReportsApplied {
  /** Whether the commit owes the agents anything (the next stage's jobs, cancel notices). */
  owesAgents: boolean;
  /** The reports' jobs the tree no longer let move (ended meanwhile by the sweep, an expiry, a cancel): nothing was written for them. */
  skipped: string[];
}

/**
 * Many jobs' starts and ends in one tree, as one engine transition: one tree load, one commit,
 * whatever the number of reports. A report the job's state no longer allows (the job ended another
 * way meanwhile) is skipped rather than refusing the rest; the times are the agent's, not the flush's.
 */
export async function applyJobReports(
  db: HttpDatabase,
  config: EngineConfig,
  rootPipelineId: string,
  reports: readonly JobReport[],
  now?: Date,
): Promise<JobReportsApplied> {
  if (reports.length === 0) return { owesAgents: false, skipped: [] };
  let last: Draft | undefined;
  const skipped = await runTransition(
    db,
    config,
    { jobId: reports[0]!.jobId, rootPipelineId },
    (draft, ctx) => {
      last = draft;
      return applyReports(draft, ctx, reports);
    },
    now,
  );
  return { owesAgents: owesAgents(last), skipped };
}

/**
 * As `applyJobReports` for several trees at once: one load round trip and one commit for all of
 * them. Null when a tree lost a race (nothing written: apply them tree by tree then).
 */
export async function applyJobReportsTogether(
  db: HttpDatabase,
  config: EngineConfig,
  byRoot: ReadonlyMap<string, readonly JobReport[]>,
  now?: Date,
): Promise<Map<string, JobReportsApplied> | null> {
  const roots = [...byRoot].filter(([, reports]) => reports.length > 0);
  const drafts = new Map<string, Draft>();
  const results = await runTransitionsTogether(
    db,
    config,
    roots.map(([rootId, reports]) => ({
      locator: { jobId: reports[0]!.jobId, rootPipelineId: rootId },
      step: (draft: Draft, ctx: EngineContext) => {
        drafts.set(rootId, draft);
        return applyReports(draft, ctx, reports);
      },
    })),
    now,
  );
  if (!results) return null;
  return new Map(roots.map(([rootId], index) => [rootId, { owesAgents: owesAgents(drafts.get(rootId)), skipped: results[index]! }]));
}

/** The reports applied to a tree's draft; returns the jobs whose reports the tree no longer allowed. */
async function applyReports(draft: Draft, ctx: EngineContext, reports: readonly JobReport[]): Promise<string[]> {
  const skipped: string[] = [];
  for (const report of reports) {
    const job = draft.tree.jobs.get(report.jobId);
    if (!job) {
      skipped.push(report.jobId);
      continue;
    }
    let moved = false;
    if (report.runningAt !== undefined && job.status === 'PENDING') {
      onJobRunning(draft, job);
      job.runningAt = new Date(report.runningAt);
      moved = true;
    }
    const ended = report.ended;
    if (ended) {
      const verb = ended.status === 'FINISHED' ? 'finish' : ended.status === 'FAILED' ? 'fail' : 'cancel';
      if (isLegalJobTransition(job.status, verb, ended.status)) {
        if (ended.reason !== undefined) job.failureReason = wellFormed(ended.reason.slice(0, maxReasonLength));
        await onJobEnded(draft, ctx, job, ended.status, ended.outputs);
        if (report.endedAt !== undefined) job.finishedAt = new Date(report.endedAt);
        moved = true;
      }
    }
    if (!moved) skipped.push(report.jobId);
  }
  return skipped;
}

/** A finish request's status and outputs, checked before a queue records them or `finishJobTransition` commits them. */
export function checkFinishInput(input: FinishJobInput): void {
  if (!['FINISHED', 'FAILED', 'CANCELED'].includes(input.status)) throw badInput('status', 'must be FINISHED, FAILED or CANCELED');
  if (input.outputs !== undefined) {
    if (typeof input.outputs !== 'object' || input.outputs === null || Array.isArray(input.outputs))
      throw badInput('outputs', 'must be an object by action alias');
    // Bytes as stored (UTF-8), not UTF-16 code units: the queue's storage caps a value at 2 MB.
    if (utf8Encode(JSON.stringify(input.outputs)).length > maxJobOutputsBytes) throw badInput('outputs', `at most ${maxJobOutputsBytes} bytes`);
    // A lone surrogate or a NUL would be refused by jsonb when the end is written behind, and hold up every report after it.
    if (!isWellFormedJson(input.outputs))
      throw badInput('outputs', 'must be well-formed text without NUL characters (a lone UTF-16 surrogate or U+0000 is not)');
  }
}
