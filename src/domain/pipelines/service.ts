// Pipelines: created from a template version, then moved on by people (approve, start, retry,
// defer, cancel), by jobs (jobs/service.ts) and by the cron sweep (sweep.ts). Every write here is
// one engine transition (engine.ts): authorized against the pipeline's project, checked by the
// state machine, committed with its outbox events and its activity event.
// Reading needs pipeline:view; running, starting, retrying, deferring and canceling need
// pipeline:execute; approving needs no permission beyond seeing the pipeline: the node's approval
// rules decide who approves.
import { and, desc, eq, lt, sql } from 'drizzle-orm';
import { authorize, type Caller } from '../../auth/rbac';
import type { AuthenticatedPrincipal } from '../../auth/principal';
import type { HttpDatabase } from '../../db/client';
import {
  jobs,
  organizations,
  pipelineApprovals,
  pipelineNodes,
  pipelines,
  pipelineTemplates,
  projects,
  type JobRow,
  type PipelineAnnotation,
  type PipelineApprovalRow,
  type PipelineNodeRow,
  type PipelineRow,
} from '../../db/schema';
import { AppError, badInput, forbidden, notFound } from '../../errors';
import { isApprover } from '../approval-rules/approvers';
import { mayDeploy } from '../environments/gatekeeper';
import { ensureEnvironment } from '../environments/ensure';
import { isUuid } from '../ids';
import { validateName } from '../names';
import { prnOf } from '../prn';
import { approvalsSatisfied } from './advance';
import { buildPipeline, rulesByPrn } from './build';
import { cancelPipelineIn } from './cancel';
import { deployerOf, startDeployment } from './deployment-start';
import { startOrHold } from './deployment-gate';
import type { Draft } from './draft';
import { runCreation, runTransition } from './engine';
import { refusal } from './state-machine';
import type { EngineConfig } from './secrets';
import { resolveVariables } from './variables';

/** A pipeline as shown: never its template snapshot or its sensitive values. */
export type PipelineView = Omit<PipelineRow, 'template' | 'sensitiveVariables'> & { sensitiveVariableNames: string[] };
export type NodeView = PipelineNodeRow;
/** A job as shown: its sealed inputs stay with the agent that runs it. */
export type JobView = Omit<JobRow, 'inputs'>;
export type ApprovalView = PipelineApprovalRow;

export function pipelineView({ template, sensitiveVariables: _sealed, ...pipeline }: PipelineRow): PipelineView {
  return { ...pipeline, sensitiveVariableNames: template.variables.filter((variable) => variable.sensitive).map((variable) => variable.name) };
}

export function jobView({ inputs: _sealed, ...job }: JobRow): JobView {
  return job;
}

const targetOf = (pipeline: Pick<PipelineRow, 'organizationId' | 'projectId'>) => ({ organizationId: pipeline.organizationId, projectId: pipeline.projectId });

function triggerOf(principal: AuthenticatedPrincipal) {
  return principal.kind === 'user'
    ? { kind: 'user' as const, id: principal.userId, name: principal.username }
    : { kind: 'service_account' as const, id: principal.serviceAccountId, name: principal.name };
}

const maxAnnotations = 20;

function validateAnnotations(input: CreatePipelineInput['annotations']): PipelineAnnotation[] {
  const annotations = input ?? [];
  if (annotations.length > maxAnnotations) throw badInput('annotations', `at most ${maxAnnotations}`);
  return annotations.map((annotation, index) => {
    const key = annotation.key.trim();
    if (key.length < 1 || key.length > 64) throw badInput(`annotations[${index}].key`, 'must be 1-64 characters');
    if (annotation.value.length > 512) throw badInput(`annotations[${index}].value`, 'must be at most 512 characters');
    const link = annotation.link ?? null;
    if (link !== null && !/^https?:\/\/\S{1,2040}$/.test(link)) throw badInput(`annotations[${index}].link`, 'must be an http(s) URL');
    return { key, value: annotation.value, link };
  });
}

export interface CreatePipelineInput {
  pipelineTemplateId: string;
  type: 'DEPLOYMENT' | 'RUNBOOK';
  /** Required for a DEPLOYMENT, refused otherwise. */
  environmentName?: string;
  variables?: Record<string, unknown>;
  annotations?: { key: string; value: string; link?: string | null }[];
  releaseId?: string;
}

/**
 * Creates a pipeline from a template version and starts it: its first stage starts in the same
 * transaction. A deployment must pass the environment gatekeeper (protection rules), and its
 * environment is created if it does not exist yet; it starts only when its deployment gate lets it
 * (deployment-gate.ts), and otherwise waits, WAITING, in its environment's queue.
 */
export async function createPipeline(db: HttpDatabase, config: EngineConfig, caller: Caller, input: CreatePipelineInput): Promise<PipelineView> {
  if (!isUuid(input.pipelineTemplateId)) throw notFound('Pipeline template');
  const [template] = await db
    .select({ row: pipelineTemplates, projectName: projects.name, organizationName: organizations.name })
    .from(pipelineTemplates)
    .innerJoin(projects, eq(projects.id, pipelineTemplates.projectId))
    .innerJoin(organizations, eq(organizations.id, pipelineTemplates.organizationId))
    .where(eq(pipelineTemplates.id, input.pipelineTemplateId));
  if (!template) throw notFound('Pipeline template');
  const { row } = template;
  const target = targetOf(row);
  const principal = authorize(caller, 'pipeline:execute', target, 'Pipeline template');

  if (input.type !== 'DEPLOYMENT' && input.type !== 'RUNBOOK') throw badInput('type', 'must be DEPLOYMENT or RUNBOOK');
  let environmentName: string | null = null;
  if (input.type === 'DEPLOYMENT') {
    if (input.environmentName === undefined) throw badInput('environmentName', 'required for a DEPLOYMENT pipeline');
    environmentName = validateName('environmentName', input.environmentName);
  } else if (input.environmentName !== undefined) {
    throw badInput('environmentName', 'only a DEPLOYMENT pipeline has an environment');
  }
  if (input.releaseId !== undefined && !isUuid(input.releaseId)) throw notFound('Release');
  const variables = resolveVariables(row.compiled, input.variables);
  const annotations = validateAnnotations(input.annotations);

  if (environmentName !== null) {
    const decision = await mayDeploy(db, principal, { projectId: row.projectId, environmentName });
    if (!decision.allowed) throw forbidden(decision.reason);
    await ensureEnvironment(db, row.projectId, environmentName, principal);
  }
  const needsRules = row.compiled.stages.some(
    (stage) =>
      stage.approvalRules.length > 0 ||
      stage.tasks.some((task) => task.approvalRules.length > 0) ||
      stage.pipelines.some((nested) => nested.approvalRules.length > 0),
  );
  const rules = needsRules ? await rulesByPrn(db, row.organizationId) : new Map();

  const id = crypto.randomUUID();
  return runCreation(db, config, id, async (draft) => {
    const pipeline = await buildPipeline(draft, config, {
      id,
      type: input.type,
      organizationId: row.organizationId,
      projectId: row.projectId,
      templateId: row.id,
      template: row.compiled,
      environmentName,
      parent: null,
      releaseId: input.releaseId ?? null,
      variables,
      annotations,
      trigger: triggerOf(principal),
      rules,
    });
    if (input.type === 'DEPLOYMENT') await startOrHold(db, draft, pipeline);
    else draft.setPipeline(pipeline, 'start', 'RUNNING');
    draft.record(principal, {
      action: 'create',
      targetType: 'pipeline',
      targetId: id,
      targetPrn: prnOf('pipeline', template.organizationName, template.projectName, id),
      ...target,
      // Names only: variable values (sensitive or not) stay out of the activity log.
      payload: { type: input.type, pipelineTemplateId: row.id, environmentName, variables: Object.keys(input.variables ?? {}) },
    });
    return pipelineView(pipeline);
  });
}

function nodeIn(draft: Draft, nodeId: string): PipelineNodeRow {
  const node = draft.tree.nodes.get(nodeId);
  if (!node) throw notFound('Pipeline node');
  return node;
}

type NodeAction = 'approve' | 'revoke_approval' | 'start' | 'retry' | 'defer';

function recordNodeAction(draft: Draft, principal: AuthenticatedPrincipal, node: PipelineNodeRow, action: NodeAction): void {
  const pipeline = draft.pipeline(node.pipelineId);
  draft.record(principal, {
    action,
    targetType: 'pipeline_node',
    targetId: node.id,
    ...targetOf(pipeline),
    payload: { pipelineId: pipeline.id, path: node.path, kind: node.kind },
  });
}

export interface NodeInput {
  nodeId: string;
}

const kindWord = (node: PipelineNodeRow) => (node.kind === 'TASK' ? 'task' : node.kind === 'STAGE' ? 'stage' : 'nested pipeline');
const principalName = (principal: AuthenticatedPrincipal) => (principal.kind === 'user' ? principal.username : principal.name);
const isOwn = (principal: AuthenticatedPrincipal) => (approval: PipelineApprovalRow) =>
  principal.kind === 'user' ? approval.userId === principal.userId : approval.serviceAccountId === principal.serviceAccountId;

/**
 * Approves a node waiting for approvals, counting toward each of its rules that names the caller
 * (directly, through a team, or as the service account). Once per principal; the node moves on
 * when every rule has its approvalsRequired.
 */
export function approveNode(db: HttpDatabase, config: EngineConfig, caller: Caller, input: NodeInput): Promise<NodeView> {
  return runTransition(db, config, { nodeId: input.nodeId }, async (draft) => {
    const node = nodeIn(draft, input.nodeId);
    const principal = authorize(caller, 'pipeline:view', targetOf(draft.pipeline(node.pipelineId)), 'Pipeline node');
    if (node.status !== 'APPROVAL_PENDING') throw refusal(node.kind, node.name, 'approve', node.status);
    const rules = node.approvalRuleIds.map((id) => draft.tree.rules.get(id)).filter((rule) => rule !== undefined);
    const decisions = await Promise.all(rules.map(async (rule) => ((await isApprover(db, principal, rule)) ? rule.id : null)));
    const ruleIds = decisions.filter((id) => id !== null);
    if (ruleIds.length === 0) throw forbidden(`You are not an approver of ${kindWord(node)} ${node.name}`);
    if (draft.tree.approvals.some((approval) => approval.nodeId === node.id && isOwn(principal)(approval))) {
      throw new AppError('CONFLICT', `${principalName(principal)} has already approved ${kindWord(node)} ${node.name}`);
    }
    draft.addApproval({
      id: crypto.randomUUID(),
      pipelineId: node.pipelineId,
      nodeId: node.id,
      approvalRuleIds: ruleIds,
      userId: principal.kind === 'user' ? principal.userId : null,
      serviceAccountId: principal.kind === 'service_account' ? principal.serviceAccountId : null,
      principalName: principalName(principal),
      createdAt: draft.now,
      revokedAt: null,
    });
    recordNodeAction(draft, principal, node, 'approve');
    return node;
  });
}

/** Withdraws the caller's approval; only before the node has started (APPROVAL_PENDING, or WAITING for a manual start). */
export function revokeApproval(db: HttpDatabase, config: EngineConfig, caller: Caller, input: NodeInput): Promise<NodeView> {
  return runTransition(db, config, { nodeId: input.nodeId }, (draft) => {
    const node = nodeIn(draft, input.nodeId);
    const principal = authorize(caller, 'pipeline:view', targetOf(draft.pipeline(node.pipelineId)), 'Pipeline node');
    if (node.status !== 'APPROVAL_PENDING' && node.status !== 'WAITING') throw refusal(node.kind, node.name, 'revoke the approval of', node.status);
    const approval = draft.tree.approvals.find((item) => item.nodeId === node.id && isOwn(principal)(item));
    if (!approval) throw notFound('Approval');
    draft.revokeApproval(approval);
    if (node.status === 'WAITING' && !approvalsSatisfied(draft, node)) draft.setNode(node, 'revoke the approval of', 'APPROVAL_PENDING');
    recordNodeAction(draft, principal, node, 'revoke_approval');
    return node;
  });
}

/** Starts a manual task or nested pipeline that is WAITING. */
export function startNode(db: HttpDatabase, config: EngineConfig, caller: Caller, input: NodeInput): Promise<NodeView> {
  return runTransition(db, config, { nodeId: input.nodeId }, (draft) => {
    const node = nodeIn(draft, input.nodeId);
    const principal = authorize(caller, 'pipeline:execute', targetOf(draft.pipeline(node.pipelineId)), 'Pipeline node');
    draft.setNode(node, 'start', 'READY', { by: principalName(principal) });
    recordNodeAction(draft, principal, node, 'start');
    return node;
  });
}

/**
 * Runs a FAILED task again (a new job; a gate's attempts start over), or a release lifecycle's
 * FAILED deployment (a new DEPLOYMENT pipeline, the retrier its deployer). Allowed while its stage is
 * still running (other children still busy), or once its pipeline has ended FAILED: then the stage
 * and the pipeline run again, and the `auto` stages after it that were skipped will run if it
 * succeeds (`pipeline_failure` stages that already ran stay as they ended). Refused while the
 * pipeline is still running its failure stages, once it is canceled, and for a nested pipeline that
 * has ended (its parent has moved on).
 */
export function retryTask(db: HttpDatabase, config: EngineConfig, caller: Caller, input: NodeInput): Promise<NodeView> {
  return runTransition(db, config, { nodeId: input.nodeId }, async (draft, ctx) => {
    const node = nodeIn(draft, input.nodeId);
    const pipeline = draft.pipeline(node.pipelineId);
    const principal = authorize(caller, 'pipeline:execute', targetOf(pipeline), 'Pipeline node');
    const isDeployment = node.kind === 'PIPELINE' && pipeline.type === 'RELEASE_LIFECYCLE';
    if ((node.kind !== 'TASK' && !isDeployment) || node.status !== 'FAILED') throw refusal(node.kind, node.name, 'retry', node.status);
    const what = isDeployment ? 'deployment' : 'task';
    const stage = draft.tree.nodes.get(node.parentNodeId!)!;
    if (stage.status !== 'RUNNING') {
      if (pipeline.status !== 'FAILED') {
        throw new AppError('CONFLICT', `Cannot retry ${what} ${node.name}: its stage has ended and the pipeline is ${pipeline.status}`, {
          details: { status: pipeline.status },
        });
      }
      if (pipeline.type === 'NESTED') throw new AppError('CONFLICT', `Cannot retry task ${node.name}: its nested pipeline has ended`);
      // The lifecycle moved on when it failed: the deployment is retried as a whole, from the lifecycle.
      if (pipeline.parentPipelineId !== null) {
        throw new AppError('CONFLICT', `Cannot retry task ${node.name}: its deployment has ended; retry the deployment in its release lifecycle`);
      }
      draft.setNode(stage, 'retry', 'RUNNING');
      for (const later of draft.stagesOf(pipeline.id)) {
        if (later.position > stage.position && later.status === 'SKIPPED' && later.when === 'auto') draft.setNode(later, 'retry', 'CREATED');
      }
      draft.setPipeline(pipeline, 'retry', 'RUNNING');
    }
    node.attempts = 0;
    node.nextAttemptAt = null;
    draft.setNode(node, 'retry', 'READY');
    recordNodeAction(draft, principal, node, 'retry');
    // The one who retries a deployment is its deployer (the gatekeeper asks about them).
    if (isDeployment) await startDeployment(draft, ctx, node, deployerOf(principal));
    return node;
  });
}

/** Skips a node that has not started (CREATED, APPROVAL_PENDING or WAITING): it ends DEFERRED and counts as done. */
export function deferNode(db: HttpDatabase, config: EngineConfig, caller: Caller, input: NodeInput): Promise<NodeView> {
  return runTransition(db, config, { nodeId: input.nodeId }, (draft) => {
    const node = nodeIn(draft, input.nodeId);
    const principal = authorize(caller, 'pipeline:execute', targetOf(draft.pipeline(node.pipelineId)), 'Pipeline node');
    draft.setNode(node, 'defer', 'DEFERRED', { by: principalName(principal) });
    recordNodeAction(draft, principal, node, 'defer');
    return node;
  });
}

/** Cancels a pipeline (nested pipelines with it); see cancel.ts. */
export function cancelPipeline(db: HttpDatabase, config: EngineConfig, caller: Caller, input: { pipelineId: string }): Promise<PipelineView> {
  return runTransition(db, config, { pipelineId: input.pipelineId }, (draft) => {
    const pipeline = draft.tree.pipelines.get(input.pipelineId);
    if (!pipeline) throw notFound('Pipeline');
    const principal = authorize(caller, 'pipeline:execute', targetOf(pipeline), 'Pipeline');
    cancelPipelineIn(draft, pipeline);
    draft.record(principal, { action: 'cancel', targetType: 'pipeline', targetId: pipeline.id, ...targetOf(pipeline), payload: { status: pipeline.status } });
    return pipeline;
  }).then(pipelineView);
}

async function loadPipeline(db: HttpDatabase, caller: Caller, id: string): Promise<PipelineRow> {
  if (!isUuid(id)) throw notFound('Pipeline');
  const [row] = await db.select().from(pipelines).where(eq(pipelines.id, id));
  if (!row) throw notFound('Pipeline');
  authorize(caller, 'pipeline:view', targetOf(row), 'Pipeline');
  return row;
}

export async function getPipeline(db: HttpDatabase, caller: Caller, id: string): Promise<PipelineView> {
  return pipelineView(await loadPipeline(db, caller, id));
}

/** A project's pipelines, newest first; `before` pages on creation time. */
export async function listProjectPipelines(
  db: HttpDatabase,
  caller: Caller,
  input: { projectId: string; limit?: number; before?: Date },
): Promise<PipelineView[]> {
  if (!isUuid(input.projectId)) throw notFound('Project');
  const [project] = await db.select({ organizationId: projects.organizationId }).from(projects).where(eq(projects.id, input.projectId));
  if (!project) throw notFound('Project');
  authorize(caller, 'pipeline:view', { organizationId: project.organizationId, projectId: input.projectId });
  const limit = input.limit ?? 50;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 100) throw badInput('limit', 'must be between 1 and 100');
  const rows = await db
    .select()
    .from(pipelines)
    .where(and(eq(pipelines.projectId, input.projectId), input.before ? lt(pipelines.createdAt, input.before) : undefined))
    .orderBy(desc(pipelines.createdAt))
    .limit(limit);
  return rows.map(pipelineView);
}

/** Stages in run order, each followed by its children in order. */
export async function listPipelineNodes(db: HttpDatabase, caller: Caller, pipelineId: string): Promise<NodeView[]> {
  await loadPipeline(db, caller, pipelineId);
  const rows = await db.select().from(pipelineNodes).where(eq(pipelineNodes.pipelineId, pipelineId));
  const stages = rows.filter((row) => row.kind === 'STAGE').sort((a, b) => a.position - b.position);
  return stages.flatMap((stage) => [stage, ...rows.filter((row) => row.parentNodeId === stage.id).sort((a, b) => a.position - b.position)]);
}

export async function listPipelineJobs(db: HttpDatabase, caller: Caller, pipelineId: string): Promise<JobView[]> {
  await loadPipeline(db, caller, pipelineId);
  return (await db.select().from(jobs).where(eq(jobs.pipelineId, pipelineId)).orderBy(jobs.createdAt)).map(jobView);
}

export async function getJob(db: HttpDatabase, caller: Caller, jobId: string): Promise<JobView> {
  if (!isUuid(jobId)) throw notFound('Job');
  const [row] = await db.select().from(jobs).where(eq(jobs.id, jobId));
  if (!row) throw notFound('Job');
  authorize(caller, 'pipeline:view', targetOf(row), 'Job');
  return jobView(row);
}

/** Approvals of a node, live and revoked, oldest first. */
export async function listNodeApprovals(db: HttpDatabase, caller: Caller, nodeId: string): Promise<ApprovalView[]> {
  if (!isUuid(nodeId)) throw notFound('Pipeline node');
  const [node] = await db
    .select({ organizationId: pipelines.organizationId, projectId: pipelines.projectId })
    .from(pipelineNodes)
    .innerJoin(pipelines, eq(pipelines.id, pipelineNodes.pipelineId))
    .where(eq(pipelineNodes.id, nodeId));
  if (!node) throw notFound('Pipeline node');
  authorize(caller, 'pipeline:view', node, 'Pipeline node');
  return db.select().from(pipelineApprovals).where(eq(pipelineApprovals.nodeId, nodeId)).orderBy(pipelineApprovals.createdAt, sql`id`);
}
