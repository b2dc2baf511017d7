// The statuses of pipelines and their nodes, and of jobs, as stored and as the API shows them.
// Which status may follow which is decided in state-machine.ts (nodes, pipelines) and
// jobs/state-machine.ts (jobs); these lists only name them.

export const nodeStatuses = [
  'CREATED',
  /** Waiting for the approvals its approval rules require. */
  'APPROVAL_PENDING',
  /** A manual node, waiting for someone to start it. */
  'WAITING',
  'READY',
  /** Its job is queued for an agent. */
  'QUEUED',
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'CANCELING',
  'CANCELED',
  /** The engine skipped it: a stage that does not run after (or without) a failure. */
  'SKIPPED',
  /** A person skipped it (deferNode). */
  'DEFERRED',
] as const;
export type NodeStatus = (typeof nodeStatuses)[number];

export const nodeKinds = ['STAGE', 'TASK', 'PIPELINE'] as const;
export type NodeKind = (typeof nodeKinds)[number];

export const pipelineTypes = ['DEPLOYMENT', 'RUNBOOK', 'NESTED', 'RELEASE_LIFECYCLE'] as const;
export type PipelineType = (typeof pipelineTypes)[number];

export const jobStatuses = ['QUEUED', 'PENDING', 'RUNNING', 'FINISHED', 'FAILED', 'CANCELING', 'CANCELED'] as const;
export type JobStatus = (typeof jobStatuses)[number];

/** Nothing more happens to a node in one of these (except a retry, for FAILED tasks). */
export const finalNodeStatuses: ReadonlySet<NodeStatus> = new Set(['SUCCEEDED', 'FAILED', 'CANCELED', 'SKIPPED', 'DEFERRED']);
