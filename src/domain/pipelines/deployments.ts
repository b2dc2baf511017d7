// Deployments as the release layer and the environments view read them: DEPLOYMENT pipelines (a
// release lifecycle's, or created on their own), with the release they belong to, who deployed
// (the pipeline's trigger) and when. Reading needs pipeline:view on the project.
import { and, desc, eq, inArray, isNotNull, lt, sql } from 'drizzle-orm';
import { authorize, isAllowed, type Caller } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { pipelines, projects, type PipelineRow, type PipelineTrigger } from '../../db/schema';
import { badInput, notFound } from '../../errors';
import { isUuid } from '../ids';
import { validateName } from '../names';
import type { NodeStatus } from './statuses';

export interface DeploymentView {
  pipelineId: string;
  projectId: string;
  environmentName: string;
  releaseId: string | null;
  /** The RELEASE_LIFECYCLE pipeline that started it; null for a deployment created on its own. */
  lifecyclePipelineId: string | null;
  pipelineTemplateId: string;
  status: NodeStatus;
  /** Who deployed: the pipeline's trigger. */
  deployedBy: PipelineTrigger;
  createdAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
}

const columns = {
  pipelineId: pipelines.id,
  organizationId: pipelines.organizationId,
  projectId: pipelines.projectId,
  environmentName: pipelines.environmentName,
  releaseId: pipelines.releaseId,
  parentPipelineId: pipelines.parentPipelineId,
  pipelineTemplateId: pipelines.pipelineTemplateId,
  status: pipelines.status,
  trigger: pipelines.trigger,
  createdAt: pipelines.createdAt,
  startedAt: pipelines.startedAt,
  completedAt: pipelines.completedAt,
};

type DeploymentRow = Pick<
  PipelineRow,
  | 'organizationId'
  | 'projectId'
  | 'environmentName'
  | 'releaseId'
  | 'parentPipelineId'
  | 'pipelineTemplateId'
  | 'status'
  | 'trigger'
  | 'createdAt'
  | 'startedAt'
  | 'completedAt'
> & { pipelineId: string };

function view({ organizationId: _organization, parentPipelineId, trigger, ...row }: DeploymentRow): DeploymentView {
  return {
    ...row,
    environmentName: row.environmentName!,
    pipelineTemplateId: row.pipelineTemplateId!,
    lifecyclePipelineId: parentPipelineId,
    deployedBy: trigger,
  };
}

async function authorizeProject(db: HttpDatabase, caller: Caller, projectId: string): Promise<void> {
  if (!isUuid(projectId)) throw notFound('Project');
  const [project] = await db.select({ organizationId: projects.organizationId }).from(projects).where(eq(projects.id, projectId));
  if (!project) throw notFound('Project');
  authorize(caller, 'pipeline:view', { organizationId: project.organizationId, projectId }, 'Project');
}

const isDeployment = eq(pipelines.type, 'DEPLOYMENT');

/** A release's deployments, oldest first (a retried one appears once per attempt); those the caller may not see are left out. */
export async function deploymentsOfRelease(db: HttpDatabase, caller: Caller, releaseId: string): Promise<DeploymentView[]> {
  if (!isUuid(releaseId)) throw notFound('Release');
  const rows = await db
    .select(columns)
    .from(pipelines)
    .where(and(isDeployment, eq(pipelines.releaseId, releaseId)))
    .orderBy(pipelines.createdAt, pipelines.id);
  return rows.filter((row) => isAllowed(caller, 'pipeline:view', row)).map(view);
}

/** An environment's deployments, newest first; `before` pages on creation time. */
export async function environmentDeployments(
  db: HttpDatabase,
  caller: Caller,
  input: { projectId: string; environmentName: string; limit?: number; before?: Date },
): Promise<DeploymentView[]> {
  await authorizeProject(db, caller, input.projectId);
  const environmentName = validateName('environmentName', input.environmentName);
  const limit = input.limit ?? 50;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 100) throw badInput('limit', 'must be between 1 and 100');
  const rows = await db
    .select(columns)
    .from(pipelines)
    .where(
      and(
        isDeployment,
        eq(pipelines.projectId, input.projectId),
        eq(pipelines.environmentName, environmentName),
        input.before ? lt(pipelines.createdAt, input.before) : undefined,
      ),
    )
    .orderBy(desc(pipelines.createdAt), desc(pipelines.id))
    .limit(limit);
  return rows.map(view);
}

/**
 * The latest completed deployment (SUCCEEDED, FAILED or CANCELED: the last thing that happened to
 * it) of each environment of the project that has one, by environment name; `environmentNames`
 * narrows to those.
 */
export async function latestDeployments(
  db: HttpDatabase,
  caller: Caller,
  projectId: string,
  environmentNames?: string[],
): Promise<Map<string, DeploymentView>> {
  await authorizeProject(db, caller, projectId);
  const rows = await db
    .selectDistinctOn([pipelines.environmentName], columns)
    .from(pipelines)
    .where(
      and(
        isDeployment,
        eq(pipelines.projectId, projectId),
        isNotNull(pipelines.completedAt),
        environmentNames ? inArray(pipelines.environmentName, environmentNames.length > 0 ? environmentNames : ['']) : undefined,
      ),
    )
    .orderBy(pipelines.environmentName, sql`${pipelines.completedAt} desc`, desc(pipelines.id));
  return new Map(rows.map((row) => [row.environmentName!, view(row)]));
}

/** A deployment waiting in its environment's queue: its place (1 = next to start) and why it waits. */
export interface QueuedDeploymentView extends DeploymentView {
  position: number;
  holdReason: string;
  /** When a change window holding it opens or closes (the hub alarm looks again then). */
  holdUntil: Date | null;
  queuedAt: Date;
  /** A rollback, ahead of the others. */
  rollback: boolean;
}

/** An environment's waiting deployments, in the order they will start. */
export async function deploymentQueue(
  db: HttpDatabase,
  caller: Caller,
  input: { projectId: string; environmentName: string },
): Promise<QueuedDeploymentView[]> {
  await authorizeProject(db, caller, input.projectId);
  const rows = await db
    .select({ ...columns, holdReason: pipelines.holdReason, holdUntil: pipelines.holdUntil, queuedAt: pipelines.queuedAt, queueFront: pipelines.queueFront })
    .from(pipelines)
    .where(and(isDeployment, eq(pipelines.projectId, input.projectId), eq(pipelines.environmentName, input.environmentName), eq(pipelines.status, 'WAITING')))
    .orderBy(desc(pipelines.queueFront), sql`coalesce(${pipelines.queuedAt}, ${pipelines.createdAt})`, pipelines.id);
  return rows.map(({ holdReason, holdUntil, queuedAt, queueFront, ...row }, index) => ({
    ...view(row),
    position: index + 1,
    holdReason: holdReason ?? '',
    holdUntil,
    queuedAt: queuedAt ?? row.createdAt,
    rollback: queueFront,
  }));
}
