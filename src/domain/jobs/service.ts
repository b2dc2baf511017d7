// What happens to jobs, and through them to the engine: a job starting to run, and its end. System
// calls (no caller): agents, when they come, authenticate with a job token and call these. Each is
// one engine transition (load the tree, apply, commit), so a job's end and what it sets off — the
// task's end, the stage's, the next task's job — commit together.
import type { HttpDatabase } from '../../db/client';
import type { JobOutputs } from '../../db/schema';
import { badInput, notFound } from '../../errors';
import { onJobEnded, onJobRunning } from '../pipelines/advance';
import { runTransition } from '../pipelines/engine';
import type { EngineConfig } from '../pipelines/secrets';
import { jobView, type JobView } from '../pipelines/service';

export async function markJobRunning(db: HttpDatabase, config: EngineConfig, jobId: string, now?: Date): Promise<JobView> {
  return runTransition(
    db,
    config,
    { jobId },
    (draft) => {
      const job = draft.tree.jobs.get(jobId);
      if (!job) throw notFound('Job');
      onJobRunning(draft, job);
      return job;
    },
    now,
  ).then(jobView);
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
  if (!['FINISHED', 'FAILED', 'CANCELED'].includes(input.status)) throw badInput('status', 'must be FINISHED, FAILED or CANCELED');
  if (input.outputs !== undefined) {
    if (typeof input.outputs !== 'object' || input.outputs === null || Array.isArray(input.outputs))
      throw badInput('outputs', 'must be an object by action alias');
    if (JSON.stringify(input.outputs).length > maxOutputsBytes) throw badInput('outputs', `at most ${maxOutputsBytes} bytes`);
  }
  return runTransition(
    db,
    config,
    { jobId },
    async (draft, ctx) => {
      const job = draft.tree.jobs.get(jobId);
      if (!job) throw notFound('Job');
      if (input.reason !== undefined) job.failureReason = input.reason.slice(0, maxReasonLength);
      await onJobEnded(draft, ctx, job, input.status, input.outputs);
      return job;
    },
    now,
  ).then(jobView);
}
