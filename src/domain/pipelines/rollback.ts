// One-action rollback: an environment's previous successful deployment (the latest SUCCEEDED one
// other than the environment's latest completed deployment) deployed again from its stored
// snapshot — the same template version, compiled template and variables (sensitive ones opened and
// sealed again for the new pipeline), the same release — as a new DEPLOYMENT at the front of the
// environment's queue. It pauses automatic promotion into the environment: release lifecycles'
// deployments there wait (deployment-gate.ts) until someone resumes it. Rolling back needs
// pipeline:execute and the environment's protection rules, as any deployment; resuming needs
// environment:manage.
import { and, desc, eq, isNotNull, isNull, ne, sql } from 'drizzle-orm';
import { authorize, type Caller } from '../../auth/rbac';
import type { AuthenticatedPrincipal } from '../../auth/principal';
import type { HttpDatabase } from '../../db/client';
import { environmentPromotionPauses, environments, pipelines, type EnvironmentPromotionPauseRow } from '../../db/schema';
import { AppError, forbidden, notFound } from '../../errors';
import { recordActivity } from '../activity/record';
import { mayDeploy } from '../environments/gatekeeper';
import { isUuid } from '../ids';
import { moveQueuesOn } from './deployment-queue';
import { openJson, variablesBinding, type EngineConfig } from './secrets';
import type { PipelineView } from './service';
import { deploySnapshot } from './snapshot-deploy';

export type PromotionPauseView = EnvironmentPromotionPauseRow;

const principalName = (principal: AuthenticatedPrincipal) => (principal.kind === 'user' ? principal.username : principal.name);

async function liveEnvironment(db: HttpDatabase, environmentId: string) {
  if (!isUuid(environmentId)) throw notFound('Environment');
  const [environment] = await db
    .select({ id: environments.id, organizationId: environments.organizationId, projectId: environments.projectId, name: environments.name })
    .from(environments)
    .where(and(eq(environments.id, environmentId), isNull(environments.deletedAt)));
  if (!environment) throw notFound('Environment');
  return environment;
}

/** Redeploys the environment's previous successful deployment, ahead of its queue, and pauses promotion into it. */
export async function rollbackEnvironment(db: HttpDatabase, config: EngineConfig, caller: Caller, input: { environmentId: string }): Promise<PipelineView> {
  const environment = await liveEnvironment(db, input.environmentId);
  const target = { organizationId: environment.organizationId, projectId: environment.projectId };
  const principal = authorize(caller, 'pipeline:execute', target, 'Environment');
  const decision = await mayDeploy(db, principal, { projectId: environment.projectId, environmentName: environment.name });
  if (!decision.allowed) throw forbidden(decision.reason);
  const ofEnvironment = and(eq(pipelines.type, 'DEPLOYMENT'), eq(pipelines.projectId, environment.projectId), eq(pipelines.environmentName, environment.name));
  const [latest] = await db
    .select({ id: pipelines.id })
    .from(pipelines)
    .where(and(ofEnvironment, isNotNull(pipelines.completedAt)))
    .orderBy(desc(pipelines.completedAt), desc(pipelines.id))
    .limit(1);
  const [previous] = await db
    .select()
    .from(pipelines)
    .where(and(ofEnvironment, eq(pipelines.status, 'SUCCEEDED'), latest ? ne(pipelines.id, latest.id) : undefined))
    .orderBy(desc(pipelines.completedAt), desc(pipelines.id))
    .limit(1);
  if (!previous) throw new AppError('CONFLICT', `Environment ${environment.name} has no earlier successful deployment to roll back to`);
  const sensitive = previous.sensitiveVariables
    ? await openJson<Record<string, unknown>>(config, previous.sensitiveVariables, variablesBinding(previous.id))
    : {};
  const pause: EnvironmentPromotionPauseRow = {
    projectId: environment.projectId,
    environmentName: environment.name,
    reason: `rollback to deployment ${previous.id}`,
    pausedBy: principalName(principal),
    pausedAt: new Date(),
  };
  // The pause first: a lifecycle deployment deciding meanwhile already waits behind the rollback.
  await db
    .insert(environmentPromotionPauses)
    .values(pause)
    .onConflictDoUpdate({
      target: [environmentPromotionPauses.projectId, environmentPromotionPauses.environmentName],
      set: { reason: pause.reason, pausedBy: pause.pausedBy, pausedAt: pause.pausedAt },
    });
  return deploySnapshot(
    db,
    config,
    principal,
    {
      ...target,
      environmentName: environment.name,
      // A DEPLOYMENT pipeline always has its template version (pipelines_template check).
      templateId: previous.pipelineTemplateId!,
      template: previous.template,
      releaseId: previous.releaseId,
      variables: { plain: previous.variables, sensitive },
    },
    {
      annotations: [{ key: 'rollback-of', value: previous.id, link: null }],
      queueFront: true,
      now: pause.pausedAt,
      activity: (pipelineId) => ({
        action: 'rollback',
        targetType: 'environment',
        targetId: environment.id,
        ...target,
        payload: { environmentName: environment.name, pipelineId, rollbackOf: previous.id, releaseId: previous.releaseId, promotionPaused: true },
      }),
    },
  );
}

/** The environment's promotion pause, if automatic promotion into it is paused. */
export async function promotionPauseOf(
  db: HttpDatabase,
  caller: Caller,
  environment: { organizationId: string; projectId: string; name: string },
): Promise<PromotionPauseView | null> {
  authorize(caller, 'environment:view', { organizationId: environment.organizationId, projectId: environment.projectId });
  const [pause] = await db
    .select()
    .from(environmentPromotionPauses)
    .where(and(eq(environmentPromotionPauses.projectId, environment.projectId), eq(environmentPromotionPauses.environmentName, environment.name)));
  return pause ?? null;
}

/** Resumes automatic promotion into the environment: release lifecycles' deployments waiting for it move on. */
export async function resumePromotion(db: HttpDatabase, config: EngineConfig, caller: Caller, input: { environmentId: string }): Promise<PromotionPauseView> {
  const environment = await liveEnvironment(db, input.environmentId);
  const target = { organizationId: environment.organizationId, projectId: environment.projectId };
  const principal = authorize(caller, 'environment:manage', target, 'Environment');
  const here = sql`project_id = ${environment.projectId} and environment_name = ${environment.name}`;
  // The pause locked first: of two resuming at once, the second finds nothing to resume and records nothing.
  const [, , deleted] = await db.batch([
    db.execute(sql`select 1 from environment_promotion_pauses where ${here} for update`),
    recordActivity(
      db,
      principal,
      { action: 'resume_promotion', targetType: 'environment', targetId: environment.id, ...target, payload: { environmentName: environment.name } },
      sql`exists (select 1 from environment_promotion_pauses where ${here})`,
    ),
    db
      .delete(environmentPromotionPauses)
      .where(and(eq(environmentPromotionPauses.projectId, environment.projectId), eq(environmentPromotionPauses.environmentName, environment.name)))
      .returning(),
  ]);
  const pause = deleted[0];
  if (!pause) throw new AppError('CONFLICT', `Automatic promotion into ${environment.name} is not paused`);
  await moveQueuesOn(db, config, new Date(), { projectId: environment.projectId, environmentName: environment.name });
  return pause;
}
