// What happens to jobs, and through them to the engine: a job starting to run, and its end. System
// calls (no caller): agents, when they come, authenticate with a job token and call these. Each is
// one engine transition (load the tree, apply, commit), so a job's end and what it sets off — the
// task's end, the stage's, the next task's job — commit together.
import type { HttpDatabase } from '../../db/client';
import type { JobOutputs } from '../../db/schema';
import { badInput, notFound } from '../../errors';
import { onJobEnded, onJobRunning } from '../pipelines/advance';
import { runTransition } from '../pipelines/engine';
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

const maxOutputsBytes = 1024 * 1024;
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
  if (!['FINISHED', 'FAILED', 'CANCELED'].includes(input.status)) throw badInput('status', 'must be FINISHED, FAILED or CANCELED');
  if (input.outputs !== undefined) {
    if (typeof input.outputs !== 'object' || input.outputs === null || Array.isArray(input.outputs))
      throw badInput('outputs', 'must be an object by action alias');
    if (JSON.stringify(input.outputs).length > maxOutputsBytes) throw badInput('outputs', `at most ${maxOutputsBytes} bytes`);
  }
  let last: Draft | undefined;
  const job = await runTransition(
    db,
    config,
    located,
    async (draft, ctx) => {
      last = draft;
      const job = draft.tree.jobs.get(jobId);
      if (!job) throw notFound('Job');
      if (input.reason !== undefined) job.failureReason = input.reason.slice(0, maxReasonLength);
      await onJobEnded(draft, ctx, job, input.status, input.outputs);
      return job;
    },
    now,
  );
  return { view: jobView(job), owesAgents: owesAgents(last) };
}
