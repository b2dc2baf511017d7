// The job state machine: queued → pending (an agent claimed it) → running → finished | failed |
// canceled, with canceling between a cancel request and the job's end. Every legal transition is
// listed once; anything else is refused naming the job and its status.
import { AppError } from '../../errors';
import type { JobStatus } from '../pipelines/statuses';

export type JobVerb = 'claim' | 'run' | 'finish' | 'fail' | 'cancel';

type Row = readonly [from: JobStatus, verb: JobVerb, to: JobStatus];

export const jobTransitions: readonly Row[] = [
  ['QUEUED', 'claim', 'PENDING'],
  // Until agents claim jobs, the executor (or a test) marks a queued job running directly.
  ['QUEUED', 'run', 'RUNNING'],
  ['QUEUED', 'fail', 'FAILED'],
  ['QUEUED', 'cancel', 'CANCELED'],
  ['PENDING', 'run', 'RUNNING'],
  ['PENDING', 'fail', 'FAILED'],
  // A claimed job is the agent's: it ends it.
  ['PENDING', 'cancel', 'CANCELING'],
  ['RUNNING', 'finish', 'FINISHED'],
  ['RUNNING', 'fail', 'FAILED'],
  ['RUNNING', 'cancel', 'CANCELING'],
  ['RUNNING', 'cancel', 'CANCELED'],
  // The agent's last word after a cancel request: whatever it managed.
  ['CANCELING', 'cancel', 'CANCELED'],
  ['CANCELING', 'finish', 'FINISHED'],
  ['CANCELING', 'fail', 'FAILED'],
];

export function isLegalJobTransition(from: JobStatus, verb: JobVerb, to: JobStatus): boolean {
  return jobTransitions.some(([f, v, t]) => f === from && v === verb && t === to);
}

export function jobTransition(jobId: string, from: JobStatus, verb: JobVerb, to: JobStatus): JobStatus {
  if (!isLegalJobTransition(from, verb, to)) {
    throw new AppError('CONFLICT', `Cannot ${verb} job ${jobId}: it is ${from}`, { details: { status: from } });
  }
  return to;
}
