// The live pipeline graph's model: the pipeline as the API reads it (stages in run order, each with
// its tasks and nested pipelines, which run side by side) laid out into a Solid store, and the
// subscription's events applied to that store in place. A status change touches one node's fields,
// so only that node's badge and actions re-render; the layout (stages, items) changes only when a
// refetch brings a new shape (a nested pipeline starting), and `reconcile` keeps every unchanged
// node's identity then too — nothing on the page moves.
import { createStore, reconcile, type SetStoreFunction } from 'solid-js/store';

/** PipelineStatus of the API. */
export type Status =
  | 'APPROVAL_PENDING'
  | 'CANCELED'
  | 'CANCELING'
  | 'CREATED'
  | 'DEFERRED'
  | 'FAILED'
  | 'QUEUED'
  | 'READY'
  | 'RUNNING'
  | 'SKIPPED'
  | 'SUCCEEDED'
  | 'WAITING';

export type JobStatus = 'CANCELED' | 'CANCELING' | 'FAILED' | 'FINISHED' | 'PENDING' | 'QUEUED' | 'RUNNING';

const finalStatuses: ReadonlySet<string> = new Set(['SUCCEEDED', 'FAILED', 'CANCELED', 'SKIPPED', 'DEFERRED']);
export const isFinal = (status: string): boolean => finalStatuses.has(status);

// ---- The shape read from the API (pipeline(id:) { … stages { tasks nestedPipelines } }) ----

interface RuleShape {
  name: string;
  approvalsRequired: number;
}
interface NodeShape {
  id: string;
  name: string;
  path: string;
  status: Status;
  when: string;
  approvals: readonly { principalName: string }[];
  approvalRules: readonly (RuleShape | null)[];
}
export interface TaskShape extends NodeShape {
  attempts: number;
  nextAttemptAt: string | null;
  jobs: readonly { id: string; status: JobStatus; attempt: number }[];
}
export interface NestedShape extends NodeShape {
  childPipeline: { id: string; status: Status } | null;
}
export interface StageShape extends NodeShape {
  tasks: readonly TaskShape[];
  nestedPipelines: readonly NestedShape[];
}
export interface PipelineShape {
  id: string;
  status: Status;
  holdReason: string | null;
  stages: readonly StageShape[];
}

// ---- The store ----

export type NodeKind = 'stage' | 'task' | 'nested';

export interface JobState {
  id: string;
  status: JobStatus;
  attempt: number;
}

export interface NodeState {
  id: string;
  kind: NodeKind;
  name: string;
  path: string;
  status: Status;
  when: string;
  /** The pipeline it belongs to. */
  pipelineId: string;
  /** Names of those who approved (live approvals). */
  approvals: string[];
  /** Approvals needed in all (the sum over the rules the caller may see). */
  approvalsRequired: number;
  ruleNames: string[];
  /** A stage's tasks and nested pipelines, in the API's order: they run side by side. */
  items: string[];
  attempts: number;
  nextAttemptAt: string | null;
  jobs: JobState[];
  /** Why it failed, from its last event (the API redacts sensitive values). */
  reason: string | null;
  childPipelineId: string | null;
}

export interface PipelineState {
  id: string;
  status: Status;
  holdReason: string | null;
  /** Stage node ids, in run order. */
  stages: string[];
}

export interface GraphState {
  pipelines: Record<string, PipelineState>;
  nodes: Record<string, NodeState>;
}

/** An event as the pipeline event subscriptions deliver it. */
export interface GraphEvent {
  id: string;
  kind: string;
  pipelineId: string | null;
  jobId: string | null;
  payload: unknown;
}

/** What applying an event did: changed the store, did not concern it, or needs the graph read again. */
export type ApplyResult = 'applied' | 'ignored' | 'refetch';

/** The database id inside a global id (Relay's base64 of `Type:id`), which event payloads carry. */
export function rawIdOf(globalId: string): string {
  try {
    const decoded = atob(globalId);
    const colon = decoded.indexOf(':');
    return colon > 0 ? decoded.slice(colon + 1) : globalId;
  } catch {
    return globalId;
  }
}

function approvalState(node: NodeShape): Pick<NodeState, 'approvals' | 'approvalsRequired' | 'ruleNames'> {
  const rules = node.approvalRules.filter((rule): rule is RuleShape => rule !== null);
  return {
    approvals: node.approvals.map((approval) => approval.principalName),
    approvalsRequired: rules.reduce((sum, rule) => sum + rule.approvalsRequired, 0),
    ruleNames: rules.map((rule) => rule.name),
  };
}

const blank = (): Pick<NodeState, 'items' | 'attempts' | 'nextAttemptAt' | 'jobs' | 'reason' | 'childPipelineId'> => ({
  items: [],
  attempts: 0,
  nextAttemptAt: null,
  jobs: [],
  reason: null,
  childPipelineId: null,
});

/**
 * Lays a pipeline out: its stages in run order, each stage's items (tasks first, then nested
 * pipelines, each group in the API's order), every node flat by id.
 */
export function layoutPipeline(pipeline: PipelineShape): { pipeline: PipelineState; nodes: NodeState[] } {
  const nodes: NodeState[] = [];
  for (const stage of pipeline.stages) {
    const items = [...stage.tasks.map((task) => task.id), ...stage.nestedPipelines.map((nested) => nested.id)];
    nodes.push({ ...blank(), ...base(stage, 'stage', pipeline.id), ...approvalState(stage), items });
    for (const task of stage.tasks) {
      nodes.push({
        ...blank(),
        ...base(task, 'task', pipeline.id),
        ...approvalState(task),
        attempts: task.attempts,
        nextAttemptAt: task.nextAttemptAt,
        jobs: task.jobs.map((job) => ({ id: job.id, status: job.status, attempt: job.attempt })),
      });
    }
    for (const nested of stage.nestedPipelines) {
      nodes.push({ ...blank(), ...base(nested, 'nested', pipeline.id), ...approvalState(nested), childPipelineId: nested.childPipeline?.id ?? null });
    }
  }
  return {
    pipeline: { id: pipeline.id, status: pipeline.status, holdReason: pipeline.holdReason, stages: pipeline.stages.map((stage) => stage.id) },
    nodes,
  };
}

function base(node: NodeShape, kind: NodeKind, pipelineId: string) {
  return { id: node.id, kind, name: node.name, path: node.path, status: node.status, when: node.when, pipelineId };
}

export type NodeAction = 'approve' | 'start' | 'retry' | 'defer';

/**
 * The actions to offer on a node, as the API would allow them (it decides again): approve where the
 * caller's to-do items say it is an approver; start a WAITING manual task or nested pipeline; retry
 * a FAILED task; defer (skip) what has not started — all while the pipeline runs. Once the pipeline
 * has ended only a failed task of a FAILED pipeline may run again.
 */
export function allowedActions(
  node: Pick<NodeState, 'id' | 'kind' | 'status'>,
  pipelineStatus: Status | undefined,
  caller: { canExecute: boolean; approvable: ReadonlySet<string>; startable: ReadonlySet<string> },
): NodeAction[] {
  const retry = node.kind === 'task' && node.status === 'FAILED' && caller.canExecute;
  if (!pipelineStatus || isFinal(pipelineStatus) || pipelineStatus === 'CANCELING') return retry && pipelineStatus === 'FAILED' ? ['retry'] : [];
  const allowed: NodeAction[] = [];
  if (node.status === 'APPROVAL_PENDING' && caller.approvable.has(node.id)) allowed.push('approve');
  if (node.status === 'WAITING' && node.kind !== 'stage' && (caller.canExecute || caller.startable.has(node.id))) allowed.push('start');
  if (retry) allowed.push('retry');
  // A stage not yet reached is left to its items.
  const notStarted = node.status === 'APPROVAL_PENDING' || node.status === 'WAITING' || (node.status === 'CREATED' && node.kind !== 'stage');
  if (caller.canExecute && notStarted) allowed.push('defer');
  return allowed;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;
const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/**
 * The graph of one pipeline and the nested pipelines opened under it, as a store, with what events
 * need to find their node: payloads carry database ids and paths, the store global ids.
 */
export class PipelineGraphStore {
  readonly state: GraphState;
  private readonly setState: SetStoreFunction<GraphState>;
  /** Database id → global id, for nodes and pipelines. */
  private readonly byRawId = new Map<string, string>();
  /** `${pipelineId} ${path}` → node id. */
  private readonly byPath = new Map<string, string>();
  /** Job global id → node id. */
  private readonly jobNode = new Map<string, string>();

  constructor() {
    [this.state, this.setState] = createStore<GraphState>({ pipelines: {}, nodes: {} });
  }

  /** Puts a pipeline read from the API into the store, keeping unchanged nodes as they are. */
  load(shape: PipelineShape): void {
    const { pipeline, nodes } = layoutPipeline(shape);
    this.byRawId.set(rawIdOf(pipeline.id), pipeline.id);
    this.setState('pipelines', pipeline.id, reconcile(pipeline));
    for (const node of nodes) {
      this.byRawId.set(rawIdOf(node.id), node.id);
      this.byPath.set(`${node.pipelineId} ${node.path}`, node.id);
      for (const job of node.jobs) this.jobNode.set(job.id, node.id);
      // The API has no field for why a node failed: keep what its event said while it stays failed.
      const known = this.state.nodes[node.id];
      if (known?.reason && known.status === node.status) node.reason = known.reason;
      this.setState('nodes', node.id, reconcile(node));
    }
  }

  /** Whether events of this pipeline concern the graph (the root, or a nested pipeline opened under it). */
  has(pipelineId: string | null): boolean {
    return pipelineId !== null && pipelineId in this.state.pipelines;
  }

  private nodeFor(event: GraphEvent, payload: Record<string, unknown>): string | undefined {
    const rawNodeId = text(payload.nodeId);
    const byId = rawNodeId ? this.byRawId.get(rawNodeId) : undefined;
    if (byId) return byId;
    const path = text(payload.path);
    return path && event.pipelineId ? this.byPath.get(`${event.pipelineId} ${path}`) : undefined;
  }

  /** A node's status as a mutation answered it (the event with it follows). */
  setStatus(nodeId: string, status: Status): void {
    if (nodeId in this.state.nodes) this.setState('nodes', nodeId, 'status', status);
  }

  setPipelineStatus(pipelineId: string, status: Status): void {
    if (pipelineId in this.state.pipelines) this.setState('pipelines', pipelineId, 'status', status);
  }

  /** Applies one subscription event to the store. */
  apply(event: GraphEvent): ApplyResult {
    if (!this.has(event.pipelineId)) return 'ignored';
    const payload = isRecord(event.payload) ? event.payload : {};
    const status = text(payload.status);
    const pipelineId = event.pipelineId!;
    switch (event.kind) {
      case 'pipeline.status_changed':
        if (!status) return 'refetch';
        this.setState('pipelines', pipelineId, 'status', status as Status);
        if (status !== 'WAITING') this.setState('pipelines', pipelineId, 'holdReason', null);
        return 'applied';
      case 'pipeline.held':
        this.setState('pipelines', pipelineId, { status: 'WAITING', holdReason: text(payload.reason) ?? null });
        return 'applied';
      case 'node.status_changed': {
        const nodeId = this.nodeFor(event, payload);
        if (!nodeId || !status) return 'refetch';
        const node = this.state.nodes[nodeId]!;
        this.setState('nodes', nodeId, {
          status: status as Status,
          reason: text(payload.reason) ?? (status === 'FAILED' ? node.reason : null),
          ...(isFinal(status) || status === 'CANCELING' ? { nextAttemptAt: null } : {}),
        });
        // A nested pipeline that starts has a child pipeline the graph does not know yet.
        return node.kind === 'nested' && !node.childPipelineId && !isFinal(status) && status !== 'APPROVAL_PENDING' && status !== 'WAITING'
          ? 'refetch'
          : 'applied';
      }
      case 'node.attempt_scheduled': {
        const nodeId = this.nodeFor(event, payload);
        if (!nodeId) return 'refetch';
        this.setState('nodes', nodeId, 'nextAttemptAt', text(payload.at) ?? null);
        return 'applied';
      }
      case 'approval.created':
      case 'approval.revoked':
        // Who approved is not in the payload: read the node again.
        return 'refetch';
      case 'job.created': {
        const nodeId = this.nodeFor(event, payload);
        if (!nodeId || !event.jobId) return 'refetch';
        const attempt = typeof payload.attempt === 'number' ? payload.attempt : 1;
        this.jobNode.set(event.jobId, nodeId);
        this.setState('nodes', nodeId, (node) => ({
          jobs: [...node.jobs.filter((job) => job.id !== event.jobId), { id: event.jobId!, status: (text(payload.status) ?? 'QUEUED') as JobStatus, attempt }],
          attempts: Math.max(node.attempts, attempt),
        }));
        return 'applied';
      }
      case 'job.status_changed': {
        const nodeId = (event.jobId && this.jobNode.get(event.jobId)) || this.nodeFor(event, payload);
        if (!nodeId || !event.jobId || !status) return 'refetch';
        const index = this.state.nodes[nodeId]!.jobs.findIndex((job) => job.id === event.jobId);
        if (index < 0) return 'refetch';
        this.setState('nodes', nodeId, 'jobs', index, 'status', status as JobStatus);
        return 'applied';
      }
      case 'pipeline.created':
        // A nested pipeline of this graph, or the pipeline itself: the shape is read again.
        return 'refetch';
      default:
        return 'ignored';
    }
  }
}
