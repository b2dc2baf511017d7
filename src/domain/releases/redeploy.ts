// Redeploying an earlier release's version to an environment as a new DEPLOYMENT pipeline, from the
// release's stored snapshot: the template version it deploys to that environment with (its own for
// the environment, else its default), its variables (sensitive ones opened and sealed again for the
// new pipeline) and its id. It waits its turn in the environment's queue like any deployment (a
// rollback, not this, goes to the front) and leaves automatic promotion as it is. Needs
// pipeline:execute on the project and the environment's protection rules, as any deployment.
import { and, eq, isNull } from 'drizzle-orm';
import { authorize, type Caller } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { environments, pipelineTemplates } from '../../db/schema';
import { AppError, badInput, forbidden } from '../../errors';
import { mayDeploy } from '../environments/gatekeeper';
import type { EngineConfig } from '../pipelines/secrets';
import type { PipelineView } from '../pipelines/service';
import { deploySnapshot } from '../pipelines/snapshot-deploy';
import { resolveVariables } from '../pipelines/variables';
import { loadRelease, releaseAutomation, releaseTarget } from './service';

export interface RedeployReleaseInput {
  releaseId: string;
  environmentName: string;
}

export async function redeployRelease(db: HttpDatabase, config: EngineConfig, caller: Caller, input: RedeployReleaseInput): Promise<PipelineView> {
  const { release } = await loadRelease(db, caller, input.releaseId);
  const target = releaseTarget(release);
  const principal = authorize(caller, 'pipeline:execute', target, 'Release');
  const [environment] = await db
    .select({ id: environments.id })
    .from(environments)
    .where(and(eq(environments.projectId, release.projectId), eq(environments.name, input.environmentName), isNull(environments.deletedAt)));
  if (!environment) throw badInput('environmentName', `no environment ${input.environmentName} in project ${release.projectName}`);
  const automation = await releaseAutomation(db, config, release.id);
  const templateId = automation.templateIdFor(input.environmentName);
  if (templateId === null) {
    throw badInput('environmentName', `release ${release.semanticVersion} has no pipeline template for environment ${input.environmentName}`);
  }
  const decision = await mayDeploy(db, principal, { projectId: release.projectId, environmentName: input.environmentName });
  if (!decision.allowed) throw forbidden(decision.reason);
  const [row] = await db.select({ compiled: pipelineTemplates.compiled }).from(pipelineTemplates).where(eq(pipelineTemplates.id, templateId));
  // A per-environment template is held by id only (no foreign key), so it may have been deleted since.
  if (!row)
    throw new AppError('CONFLICT', `the pipeline template release ${release.semanticVersion} deploys to ${input.environmentName} with no longer exists`);
  const template = row.compiled;
  // The release's values were checked against this template when it was cut; resolving them again
  // only splits them into plain and sensitive as this template declares them.
  const variables = resolveVariables(template, automation.variablesFor(template));
  return deploySnapshot(
    db,
    config,
    principal,
    { ...target, environmentName: input.environmentName, templateId, template, releaseId: release.id, variables },
    {
      annotations: [{ key: 'redeploy-of', value: release.semanticVersion, link: null }],
      queueFront: false,
      activity: (pipelineId) => ({
        action: 'redeploy',
        targetType: 'release',
        targetId: release.id,
        targetPrn: release.prn,
        ...target,
        payload: { environmentName: input.environmentName, pipelineId, semanticVersion: release.semanticVersion },
      }),
    },
  );
}
