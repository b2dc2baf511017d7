// Moving a tree on: after any event (a pipeline created, an approval, a job's end, a due gate) the
// engine applies every transition that has become possible, until none is, all in the draft that
// commits with the event. Stages run one after another; a running stage starts all its children
// at once; a stage ends when its children have; after a failure only `pipeline_failure` stages run.
import type { JobOutputs, JobRow, PipelineNodeRow, PipelineRow } from '../../db/schema';
import type { HttpDatabase } from '../../db/client';
import type { TemplateNestedPipeline, TemplateTask } from '../templates/model';
import type { Draft } from './draft';
import { evaluateExpression, ExpressionError, type ExpressionScope } from './expressions';
import { jwtPlaceholder } from '../../protocol/agent-v1';
import { openJson, sealJson, jobInputsBinding, variablesBinding, type EngineConfig } from './secrets';
import { redactSensitive } from './redact';
import { finalNodeStatuses } from './statuses';
import type { NestedTemplateLoader } from './nested';
import { startNested } from './nested';
import { startDeployment } from './deployment-start';

export interface EngineContext {
  db: HttpDatabase;
  config: EngineConfig;
  loadNestedTemplate: NestedTemplateLoader;
}

/** Max duration of a job whose task sets none. */
const defaultMaxDurationSeconds = 3600;

const isFinal = (node: PipelineNodeRow) => finalNodeStatuses.has(node.status);

function templateStage(pipeline: PipelineRow, stage: PipelineNodeRow) {
  return pipeline.template.stages.find((item) => item.name === stage.name)!;
}

function templateTask(draft: Draft, node: PipelineNodeRow): TemplateTask {
  const stage = draft.tree.nodes.get(node.parentNodeId!)!;
  return templateStage(draft.pipeline(node.pipelineId), stage).tasks.find((task) => task.name === node.name)!;
}

export function templateNested(draft: Draft, node: PipelineNodeRow): TemplateNestedPipeline {
  const stage = draft.tree.nodes.get(node.parentNodeId!)!;
  return templateStage(draft.pipeline(node.pipelineId), stage).pipelines.find((nested) => nested.name === node.name)!;
}

/** Whether every approval rule of the node has the approvals it requires. */
export function approvalsSatisfied(draft: Draft, node: PipelineNodeRow): boolean {
  const approvals = draft.tree.approvals.filter((approval) => approval.nodeId === node.id && approval.revokedAt === null);
  return node.approvalRuleIds.every((ruleId) => {
    const rule = draft.tree.rules.get(ruleId);
    const count = approvals.filter((approval) => approval.approvalRuleIds.includes(ruleId)).length;
    return rule !== undefined && count >= rule.approvalsRequired;
  });
}

/** `action_outputs` of a pipeline: each task's latest finished job's outputs, at the task's path. */
function actionOutputs(draft: Draft, pipelineId: string): Record<string, unknown> {
  // One pass over the jobs, not one per task: a stage starting queues every task's job, each
  // evaluating its inputs in this scope, so a per-task scan would cost tasks × jobs per job.
  const latestFinished = new Map<string, JobRow>();
  for (const job of draft.tree.jobs.values()) {
    if (job.pipelineId !== pipelineId || job.status !== 'FINISHED') continue;
    const seen = latestFinished.get(job.nodeId);
    if (!seen || job.attempt > seen.attempt) latestFinished.set(job.nodeId, job);
  }
  const outputs: Record<string, unknown> = {};
  for (const node of draft.tree.nodes.values()) {
    if (node.pipelineId !== pipelineId || node.kind !== 'TASK') continue;
    const latest = latestFinished.get(node.id);
    if (!latest) continue;
    let place = outputs;
    for (const segment of node.path.split('.')) {
      place[segment] ??= {};
      place = place[segment] as Record<string, unknown>;
    }
    place.action = latest.outputs;
  }
  return outputs;
}

export async function scopeOf(draft: Draft, config: EngineConfig, pipeline: PipelineRow): Promise<ExpressionScope> {
  let sensitive = draft.openedVariables.get(pipeline.id);
  if (!sensitive) {
    sensitive = pipeline.sensitiveVariables ? await openJson<Record<string, unknown>>(config, pipeline.sensitiveVariables, variablesBinding(pipeline.id)) : {};
    draft.openedVariables.set(pipeline.id, sensitive);
  }
  return {
    var: { ...pipeline.variables, ...sensitive },
    action_outputs: actionOutputs(draft, pipeline.id),
    // Tokens are minted when the job starts, not now: the inputs carry a marker the executor replaces.
    jwt: Object.fromEntries((pipeline.template.jwts ?? []).map((jwt) => [jwt.name, jwtPlaceholder(jwt.name)])),
  };
}

/** Why an evaluation for the pipeline failed, for its node's event: its sensitive values taken out. */
export function reasonOf(draft: Draft, pipelineId: string, error: unknown): string {
  return redactSensitive(error instanceof Error ? error.message : String(error), draft.openedVariables.get(pipelineId));
}

/** Queues the task's next job (its inputs evaluated now); the task fails if they cannot be. */
async function queueJob(draft: Draft, ctx: EngineContext, node: PipelineNodeRow, verb: 'queue' | 'requeue'): Promise<void> {
  const pipeline = draft.pipeline(node.pipelineId);
  const task = templateTask(draft, node);
  const scope = await scopeOf(draft, ctx.config, pipeline);
  let actions: unknown[];
  try {
    actions = task.actions.map((action) => ({
      alias: action.alias,
      name: action.name,
      pluginName: action.pluginName,
      actionName: action.actionName,
      inputs: Object.fromEntries(
        Object.entries(action.inputs).map(([name, expression]) => [name, evaluateExpression(expression, scope, draft.evaluationBudget)]),
      ),
    }));
  } catch (error) {
    if (!(error instanceof ExpressionError)) throw error;
    draft.setNode(node, 'fail', 'FAILED', { reason: `inputs: ${reasonOf(draft, pipeline.id, error)}` });
    return;
  }
  const id = crypto.randomUUID();
  node.attempts += 1;
  node.nextAttemptAt = null;
  const job: JobRow = {
    id,
    organizationId: pipeline.organizationId,
    projectId: pipeline.projectId,
    pipelineId: pipeline.id,
    nodeId: node.id,
    status: 'QUEUED',
    tags: task.agentTags ?? pipeline.template.agentTags,
    inputs: await sealJson(ctx.config, actions, jobInputsBinding(id)),
    maxDurationSeconds: task.maxDurationSeconds ?? defaultMaxDurationSeconds,
    attempt: node.attempts,
    outputs: {},
    agentId: null,
    sessionId: null,
    dispatchedAt: null,
    leaseCount: 0,
    logSize: 0,
    logTruncated: false,
    logDeletedAt: null,
    failureReason: null,
    queuedAt: draft.now,
    pendingAt: null,
    runningAt: null,
    cancelRequestedAt: null,
    finishedAt: null,
    createdAt: draft.now,
    updatedAt: draft.now,
    version: 1,
  };
  draft.addJob(job);
  draft.setNode(node, verb, 'QUEUED', { jobId: id, attempt: job.attempt });
}

async function advanceChild(draft: Draft, ctx: EngineContext, node: PipelineNodeRow): Promise<void> {
  if (node.status === 'CREATED') {
    if (node.approvalRuleIds.length > 0) draft.setNode(node, 'start', 'APPROVAL_PENDING');
    else draft.setNode(node, 'start', node.when === 'manual' ? 'WAITING' : 'READY');
  }
  if (node.status === 'APPROVAL_PENDING' && approvalsSatisfied(draft, node)) draft.setNode(node, 'approve', node.when === 'manual' ? 'WAITING' : 'READY');
  if (node.status === 'READY') {
    if (node.kind === 'PIPELINE' && draft.pipeline(node.pipelineId).type === 'RELEASE_LIFECYCLE') await startDeployment(draft, ctx, node);
    else if (node.kind === 'PIPELINE') await startNested(draft, ctx, node);
    else if (templateTask(draft, node).actions.length === 0) draft.setNode(node, 'succeed', 'SUCCEEDED');
    else await queueJob(draft, ctx, node, 'queue');
  }
  if (node.status === 'RUNNING' && node.kind === 'TASK' && node.nextAttemptAt && node.nextAttemptAt <= draft.now && !draft.activeJobOf(node.id)) {
    await queueJob(draft, ctx, node, 'requeue');
  }
  if (node.status === 'RUNNING' && node.kind === 'PIPELINE') {
    const child = draft.tree.pipelines.get(node.nestedPipelineId!);
    if (child?.status === 'SUCCEEDED') draft.setNode(node, 'succeed', 'SUCCEEDED');
    else if (child?.status === 'FAILED') draft.setNode(node, 'fail', 'FAILED');
    else if (child?.status === 'CANCELED') draft.setNode(node, 'cancel', 'CANCELED');
  }
}

async function advancePipeline(draft: Draft, ctx: EngineContext, pipeline: PipelineRow): Promise<void> {
  const stages = draft.stagesOf(pipeline.id);
  for (const stage of stages) {
    if (isFinal(stage)) continue;
    if (stage.status === 'CREATED') {
      const failed = stages.some((other) => other.status === 'FAILED');
      if ((stage.when === 'pipeline_failure') !== failed) {
        draft.setNode(stage, 'skip', 'SKIPPED');
        continue;
      }
      draft.setNode(stage, 'start', stage.approvalRuleIds.length > 0 ? 'APPROVAL_PENDING' : 'RUNNING');
    }
    if (stage.status === 'APPROVAL_PENDING') {
      if (!approvalsSatisfied(draft, stage)) return;
      draft.setNode(stage, 'approve', 'RUNNING');
    }
    if (stage.status !== 'RUNNING') return;
    const children = draft.childrenOf(stage.id);
    for (const child of children) await advanceChild(draft, ctx, child);
    if (!children.every(isFinal)) return;
    const failed = children.some((child) => child.status === 'FAILED' || child.status === 'CANCELED');
    draft.setNode(stage, failed ? 'fail' : 'succeed', failed ? 'FAILED' : 'SUCCEEDED');
  }
  const failed = stages.some((stage) => stage.status === 'FAILED');
  draft.setPipeline(pipeline, failed ? 'fail' : 'succeed', failed ? 'FAILED' : 'SUCCEEDED');
}

/** A canceling pipeline ends CANCELED once nothing in it is active any more. */
function settleCanceling(draft: Draft, pipeline: PipelineRow): void {
  const stages = draft.stagesOf(pipeline.id);
  for (const stage of stages) {
    for (const child of draft.childrenOf(stage.id)) {
      if (child.kind === 'PIPELINE' && child.status === 'CANCELING' && draft.tree.pipelines.get(child.nestedPipelineId!)?.status === 'CANCELED') {
        draft.setNode(child, 'finish canceling', 'CANCELED');
      }
    }
    if (stage.status === 'CANCELING' && draft.childrenOf(stage.id).every(isFinal)) draft.setNode(stage, 'finish canceling', 'CANCELED');
  }
  if (stages.every(isFinal)) draft.setPipeline(pipeline, 'finish canceling', 'CANCELED');
}

/** Applies every transition that has become possible in the tree. */
export async function advance(draft: Draft, ctx: EngineContext): Promise<void> {
  for (let pass = 0; pass < 1000; pass += 1) {
    const before = draft.events.length;
    for (const pipeline of [...draft.tree.pipelines.values()]) {
      if (pipeline.status === 'RUNNING') await advancePipeline(draft, ctx, pipeline);
      else if (pipeline.status === 'CANCELING') settleCanceling(draft, pipeline);
    }
    if (draft.events.length === before) return;
  }
  throw new Error('the pipeline engine did not settle');
}

/** The job has started running: its task too. */
export function onJobRunning(draft: Draft, job: JobRow): void {
  draft.setJob(job, 'run', 'RUNNING');
  const node = draft.tree.nodes.get(job.nodeId)!;
  if (node.status === 'QUEUED') draft.setNode(node, 'run', 'RUNNING', { jobId: job.id });
}

/**
 * The job has ended. Its task: canceled if a cancel was waiting for it; failed with the job; after
 * a finished job, succeeded — unless it is a gate whose success condition does not hold yet, which
 * waits `interval` for its next attempt (the sweep queues it), or fails once attempts are used up.
 */
export async function onJobEnded(
  draft: Draft,
  ctx: EngineContext,
  job: JobRow,
  status: 'FINISHED' | 'FAILED' | 'CANCELED',
  outputs: JobOutputs | undefined,
): Promise<void> {
  draft.setJob(job, status === 'FINISHED' ? 'finish' : status === 'FAILED' ? 'fail' : 'cancel', status, outputs);
  const node = draft.tree.nodes.get(job.nodeId)!;
  if (node.status === 'CANCELING') {
    draft.setNode(node, 'finish canceling', 'CANCELED', { jobId: job.id });
    return;
  }
  if (node.status !== 'QUEUED' && node.status !== 'RUNNING') return;
  if (status !== 'FINISHED') {
    draft.setNode(node, 'fail', 'FAILED', { jobId: job.id, reason: `job ${status}` });
    return;
  }
  if (node.status === 'QUEUED') draft.setNode(node, 'run', 'RUNNING', { jobId: job.id });
  const gate = templateTask(draft, node).gate;
  if (!gate) {
    draft.setNode(node, 'succeed', 'SUCCEEDED', { jobId: job.id });
    return;
  }
  let passed: boolean;
  try {
    passed = evaluateExpression(gate.successCondition, await scopeOf(draft, ctx.config, draft.pipeline(node.pipelineId)), draft.evaluationBudget) === true;
  } catch (error) {
    if (!(error instanceof ExpressionError)) throw error;
    draft.setNode(node, 'fail', 'FAILED', { jobId: job.id, reason: `success_condition: ${reasonOf(draft, node.pipelineId, error)}` });
    return;
  }
  if (passed) draft.setNode(node, 'succeed', 'SUCCEEDED', { jobId: job.id, attempt: job.attempt });
  else if (node.attempts >= gate.attempts)
    draft.setNode(node, 'fail', 'FAILED', { jobId: job.id, reason: `success_condition false after ${node.attempts} attempts` });
  else {
    node.nextAttemptAt = new Date(draft.now.getTime() + gate.intervalSeconds * 1000);
    draft.touchNode(node);
    draft.events.push({
      pipelineId: node.pipelineId,
      jobId: job.id,
      kind: 'node.attempt_scheduled',
      payload: { nodeId: node.id, path: node.path, attempt: node.attempts + 1, at: node.nextAttemptAt.toISOString() },
    });
  }
}

export { isFinal };
