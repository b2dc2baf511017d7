// The engine's working copy of a tree: every status change goes through the state machine, is
// remembered with its outbox event, and becomes one statement of the transaction that commits it
// (commit.ts). Nothing is written until then, so a refused or lost transition leaves no trace.
import type { BatchItem } from 'drizzle-orm/batch';
import type { JobOutputs, JobRow, PipelineApprovalRow, PipelineNodeRow, PipelineRow } from '../../db/schema';
import type { ActivityInitiator, ActivityInput } from '../activity/record';
import { jobTransition, type JobVerb } from '../jobs/state-machine';
import { transition, type MachineKind, type Verb } from './state-machine';
import { finalNodeStatuses, type JobStatus, type NodeStatus } from './statuses';
import type { Tree } from './tree';
import { sharedEvaluationBudget } from '../templates/hcl/evaluate';

/**
 * Expression steps one transition may spend in all (each expression alone may spend 1,000,000): a
 * task whose inputs would go past it fails, with the budget named in its reason.
 */
const transitionEvaluationSteps = 5_000_000;

export interface DraftEvent {
  pipelineId: string;
  jobId: string | null;
  kind: string;
  payload: Record<string, unknown>;
}

export class Draft {
  readonly newPipelines = new Set<string>();
  readonly newNodes = new Set<string>();
  readonly newJobs = new Set<string>();
  readonly newApprovals: PipelineApprovalRow[] = [];
  readonly revokedApprovals: PipelineApprovalRow[] = [];
  readonly changedPipelines = new Set<string>();
  readonly changedNodes = new Set<string>();
  readonly changedJobs = new Set<string>();
  readonly events: DraftEvent[] = [];
  readonly activities: { initiator: ActivityInitiator; event: ActivityInput }[] = [];
  /**
   * Steps every expression this transition evaluates share: a stage of hundreds of tasks with heavy
   * inputs cannot make one transition evaluate without end (each expression alone is bounded too).
   */
  readonly evaluationBudget = sharedEvaluationBudget(transitionEvaluationSteps);
  /**
   * Writes of another aggregate that belong in this transition's transaction (a release cut with
   * its lifecycle pipeline): `leadingWrites` go right after the events lock, `trailingWrites` last.
   */
  readonly leadingWrites: BatchItem<'pg'>[] = [];
  readonly trailingWrites: BatchItem<'pg'>[] = [];
  /** Sensitive variable values of pipelines, opened (or just given) once per draft. */
  readonly openedVariables = new Map<string, Record<string, unknown>>();

  constructor(
    readonly tree: Tree,
    readonly now: Date,
  ) {}

  get isEmpty(): boolean {
    return (
      this.newPipelines.size + this.newNodes.size + this.newJobs.size + this.changedPipelines.size + this.changedNodes.size + this.changedJobs.size === 0 &&
      this.newApprovals.length + this.revokedApprovals.length + this.activities.length === 0
    );
  }

  pipeline(id: string): PipelineRow {
    const row = this.tree.pipelines.get(id);
    if (!row) throw new Error(`pipeline ${id} is not in the tree`);
    return row;
  }

  /** Stages of a pipeline in run order. */
  stagesOf(pipelineId: string): PipelineNodeRow[] {
    return [...this.tree.nodes.values()].filter((node) => node.pipelineId === pipelineId && node.kind === 'STAGE').sort((a, b) => a.position - b.position);
  }

  childrenOf(stageId: string): PipelineNodeRow[] {
    return [...this.tree.nodes.values()].filter((node) => node.parentNodeId === stageId).sort((a, b) => a.position - b.position);
  }

  jobsOf(nodeId: string): JobRow[] {
    return [...this.tree.jobs.values()].filter((job) => job.nodeId === nodeId).sort((a, b) => a.attempt - b.attempt);
  }

  activeJobOf(nodeId: string): JobRow | undefined {
    return this.jobsOf(nodeId).find((job) => !['FINISHED', 'FAILED', 'CANCELED'].includes(job.status));
  }

  setNode(node: PipelineNodeRow, verb: Verb, to: NodeStatus, detail: Record<string, unknown> = {}): void {
    const from = node.status;
    node.status = transition(node.kind, node.name, from, verb, to);
    if (to === 'RUNNING' && !node.startedAt) node.startedAt = this.now;
    node.completedAt = finalNodeStatuses.has(to) ? this.now : null;
    // An ended or canceled gate has no next attempt for the sweep to find.
    if (finalNodeStatuses.has(to) || to === 'CANCELING') node.nextAttemptAt = null;
    this.touchNode(node);
    this.events.push({
      pipelineId: node.pipelineId,
      jobId: null,
      kind: 'node.status_changed',
      payload: { nodeId: node.id, path: node.path, kind: node.kind, from, status: to, ...detail },
    });
  }

  touchNode(node: PipelineNodeRow): void {
    if (!this.newNodes.has(node.id)) this.changedNodes.add(node.id);
  }

  setPipeline(pipeline: PipelineRow, verb: Verb, to: NodeStatus): void {
    const from = pipeline.status;
    pipeline.status = transition('RUN' satisfies MachineKind, pipeline.id, from, verb, to);
    if (to === 'RUNNING' && !pipeline.startedAt) pipeline.startedAt = this.now;
    pipeline.completedAt = finalNodeStatuses.has(to) ? this.now : null;
    // Only a WAITING deployment has a hold; it leaves with the status.
    if (to !== 'WAITING') Object.assign(pipeline, { holdReason: null, holdUntil: null });
    if (!this.newPipelines.has(pipeline.id)) this.changedPipelines.add(pipeline.id);
    this.events.push({ pipelineId: pipeline.id, jobId: null, kind: 'pipeline.status_changed', payload: { pipelineId: pipeline.id, from, status: to } });
  }

  /**
   * Holds a deployment that may not start yet (CREATED → WAITING), or, already WAITING, records a
   * changed reason; `until` (a change window opening) is when the hub alarm looks at it again.
   */
  holdPipeline(pipeline: PipelineRow, reason: string, until: Date | null): void {
    if (pipeline.status === 'WAITING' && pipeline.holdReason === reason && pipeline.holdUntil?.getTime() === until?.getTime()) return;
    if (pipeline.status !== 'WAITING') {
      this.setPipeline(pipeline, 'hold', 'WAITING');
      pipeline.queuedAt ??= this.now;
    } else if (!this.newPipelines.has(pipeline.id)) this.changedPipelines.add(pipeline.id);
    pipeline.holdReason = reason;
    pipeline.holdUntil = until;
    this.events.push({
      pipelineId: pipeline.id,
      jobId: null,
      kind: 'pipeline.held',
      payload: { pipelineId: pipeline.id, environmentName: pipeline.environmentName, reason, ...(until ? { at: until.toISOString() } : {}) },
    });
  }

  setJob(job: JobRow, verb: JobVerb, to: JobStatus, outputs?: JobOutputs): void {
    const from = job.status;
    job.status = jobTransition(job.id, from, verb, to);
    if (to === 'PENDING') job.pendingAt = this.now;
    if (to === 'RUNNING') job.runningAt = this.now;
    if (to === 'CANCELING') job.cancelRequestedAt = this.now;
    if (to === 'FINISHED' || to === 'FAILED' || to === 'CANCELED') job.finishedAt = this.now;
    if (outputs) job.outputs = outputs;
    if (!this.newJobs.has(job.id)) this.changedJobs.add(job.id);
    this.events.push({
      pipelineId: job.pipelineId,
      jobId: job.id,
      kind: 'job.status_changed',
      payload: { jobId: job.id, nodeId: job.nodeId, from, status: to },
    });
  }

  addPipeline(pipeline: PipelineRow, nodes: PipelineNodeRow[]): void {
    this.tree.pipelines.set(pipeline.id, pipeline);
    this.newPipelines.add(pipeline.id);
    for (const node of nodes) {
      this.tree.nodes.set(node.id, node);
      this.newNodes.add(node.id);
    }
    this.events.push({ pipelineId: pipeline.id, jobId: null, kind: 'pipeline.created', payload: { pipelineId: pipeline.id, type: pipeline.type } });
  }

  addJob(job: JobRow): void {
    this.tree.jobs.set(job.id, job);
    this.newJobs.add(job.id);
    this.events.push({
      pipelineId: job.pipelineId,
      jobId: job.id,
      kind: 'job.created',
      payload: { jobId: job.id, nodeId: job.nodeId, attempt: job.attempt, status: job.status },
    });
  }

  addApproval(approval: PipelineApprovalRow): void {
    this.tree.approvals.push(approval);
    this.newApprovals.push(approval);
    this.events.push({ pipelineId: approval.pipelineId, jobId: null, kind: 'approval.created', payload: { approvalId: approval.id, nodeId: approval.nodeId } });
  }

  revokeApproval(approval: PipelineApprovalRow): void {
    approval.revokedAt = this.now;
    this.tree.approvals.splice(this.tree.approvals.indexOf(approval), 1);
    this.revokedApprovals.push(approval);
    this.events.push({ pipelineId: approval.pipelineId, jobId: null, kind: 'approval.revoked', payload: { approvalId: approval.id, nodeId: approval.nodeId } });
  }

  record(initiator: ActivityInitiator, event: ActivityInput): void {
    this.activities.push({ initiator, event });
  }
}
