// The one state machine of pipelines and their nodes: every legal transition, per kind of thing,
// listed once below. Everything the engine and the services do to a status goes through
// `transition`, which refuses anything not listed with a message naming the thing and its status
// (`Cannot retry task build: it is SUCCEEDED`). Jobs have their own table (jobs/state-machine.ts).
import { AppError } from '../../errors';
import type { NodeKind, NodeStatus } from './statuses';

/** What changes status: a node of a kind, or a pipeline (`RUN`) itself. */
export type MachineKind = NodeKind | 'RUN';

/** The verbs of messages: what was asked of the node. */
export type Verb =
  | 'start'
  | 'approve'
  | 'revoke the approval of'
  | 'queue'
  | 'run'
  | 'succeed'
  | 'fail'
  | 'skip'
  | 'defer'
  | 'cancel'
  | 'finish canceling'
  | 'retry'
  | 'requeue'
  | 'hold';

type Row = readonly [from: NodeStatus, verb: Verb, to: NodeStatus];

const startable: Row[] = [
  ['CREATED', 'start', 'APPROVAL_PENDING'],
  ['CREATED', 'start', 'WAITING'],
  ['CREATED', 'start', 'READY'],
  ['CREATED', 'skip', 'SKIPPED'],
  ['CREATED', 'defer', 'DEFERRED'],
  ['CREATED', 'cancel', 'CANCELED'],
  ['APPROVAL_PENDING', 'approve', 'WAITING'],
  ['APPROVAL_PENDING', 'approve', 'READY'],
  ['APPROVAL_PENDING', 'defer', 'DEFERRED'],
  ['APPROVAL_PENDING', 'cancel', 'CANCELED'],
  // A manual node whose approvals are in may lose one again before anyone starts it.
  ['WAITING', 'revoke the approval of', 'APPROVAL_PENDING'],
  ['WAITING', 'start', 'READY'],
  ['WAITING', 'defer', 'DEFERRED'],
  ['WAITING', 'cancel', 'CANCELED'],
  ['READY', 'cancel', 'CANCELED'],
];

/** Every legal transition, per kind. */
export const transitions: Readonly<Record<MachineKind, readonly Row[]>> = {
  TASK: [
    ...startable,
    ['READY', 'queue', 'QUEUED'],
    // Its inputs could not be evaluated.
    ['READY', 'fail', 'FAILED'],
    // A task without actions has nothing to run.
    ['READY', 'succeed', 'SUCCEEDED'],
    ['QUEUED', 'run', 'RUNNING'],
    ['QUEUED', 'fail', 'FAILED'],
    ['QUEUED', 'cancel', 'CANCELED'],
    ['QUEUED', 'cancel', 'CANCELING'],
    ['RUNNING', 'succeed', 'SUCCEEDED'],
    ['RUNNING', 'fail', 'FAILED'],
    // A gate's next attempt: the sweep queues a new job.
    ['RUNNING', 'requeue', 'QUEUED'],
    ['RUNNING', 'cancel', 'CANCELING'],
    // A gate waiting between attempts has no job to wait for.
    ['RUNNING', 'cancel', 'CANCELED'],
    ['CANCELING', 'finish canceling', 'CANCELED'],
    ['FAILED', 'retry', 'READY'],
  ],
  PIPELINE: [
    ...startable,
    ['READY', 'run', 'RUNNING'],
    // Its template or variables could not be resolved.
    ['READY', 'fail', 'FAILED'],
    ['RUNNING', 'succeed', 'SUCCEEDED'],
    ['RUNNING', 'fail', 'FAILED'],
    ['RUNNING', 'cancel', 'CANCELING'],
    ['RUNNING', 'cancel', 'CANCELED'],
    ['CANCELING', 'finish canceling', 'CANCELED'],
    // A lifecycle's failed deployment, retried: a new DEPLOYMENT pipeline.
    ['FAILED', 'retry', 'READY'],
  ],
  STAGE: [
    ['CREATED', 'start', 'APPROVAL_PENDING'],
    ['CREATED', 'start', 'RUNNING'],
    ['CREATED', 'skip', 'SKIPPED'],
    ['CREATED', 'defer', 'DEFERRED'],
    ['CREATED', 'cancel', 'CANCELED'],
    ['APPROVAL_PENDING', 'approve', 'RUNNING'],
    ['APPROVAL_PENDING', 'defer', 'DEFERRED'],
    ['APPROVAL_PENDING', 'cancel', 'CANCELED'],
    ['RUNNING', 'succeed', 'SUCCEEDED'],
    ['RUNNING', 'fail', 'FAILED'],
    ['RUNNING', 'cancel', 'CANCELING'],
    ['RUNNING', 'cancel', 'CANCELED'],
    ['CANCELING', 'finish canceling', 'CANCELED'],
    // A retried task reopens its stage, and the stages skipped after it.
    ['FAILED', 'retry', 'RUNNING'],
    ['SKIPPED', 'retry', 'CREATED'],
  ],
  RUN: [
    ['CREATED', 'start', 'RUNNING'],
    ['CREATED', 'cancel', 'CANCELED'],
    // A DEPLOYMENT that may not start yet (its environment busy or queued ahead, a change window,
    // the organization's line stopped) waits in its environment's queue (deployment-gate.ts) …
    ['CREATED', 'hold', 'WAITING'],
    // … and starts by itself when nothing holds it any more (deployment-queue.ts).
    ['WAITING', 'start', 'RUNNING'],
    ['WAITING', 'cancel', 'CANCELED'],
    ['RUNNING', 'succeed', 'SUCCEEDED'],
    ['RUNNING', 'fail', 'FAILED'],
    ['RUNNING', 'cancel', 'CANCELING'],
    ['RUNNING', 'cancel', 'CANCELED'],
    ['CANCELING', 'finish canceling', 'CANCELED'],
    ['FAILED', 'retry', 'RUNNING'],
  ],
};

const kindWords: Record<MachineKind, string> = { TASK: 'task', STAGE: 'stage', PIPELINE: 'nested pipeline', RUN: 'pipeline' };

function isLegal(kind: MachineKind, from: NodeStatus, verb: Verb, to: NodeStatus): boolean {
  return transitions[kind].some(([f, v, t]) => f === from && v === verb && t === to);
}

/** Whether `verb` applies to the status at all (to some destination). */
export function allows(kind: MachineKind, from: NodeStatus, verb: Verb): boolean {
  return transitions[kind].some(([f, v]) => f === from && v === verb);
}

export function refusal(kind: MachineKind, name: string, verb: Verb, from: NodeStatus): AppError {
  return new AppError('CONFLICT', `Cannot ${verb} ${kindWords[kind]} ${name}: it is ${from}`, { details: { status: from } });
}

/** The new status, or CONFLICT when the table does not list the transition. */
export function transition(kind: MachineKind, name: string, from: NodeStatus, verb: Verb, to: NodeStatus): NodeStatus {
  if (!isLegal(kind, from, verb, to)) throw refusal(kind, name, verb, from);
  return to;
}
