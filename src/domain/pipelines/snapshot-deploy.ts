// Deploying a stored snapshot again as a new DEPLOYMENT pipeline: a template version already
// compiled, resolved variables (sensitive ones sealed again for the new pipeline by buildPipeline) and
// the release it belongs to — no rebuild, no re-validation of the template. Rollback (rollback.ts) and
// redeploying a release (releases/redeploy.ts) both use it; it goes through the deployment gate and
// queue like any deployment (the front of the queue only when `queueFront`). The caller has already
// authorized the deployer (pipeline:execute and the environment's protection rules).
import type { AuthenticatedPrincipal } from '../../auth/principal';
import type { HttpDatabase } from '../../db/client';
import type { PipelineAnnotation } from '../../db/schema';
import type { ActivityInput } from '../activity/record';
import type { PipelineTemplate } from '../templates/model';
import { buildPipeline, rulesByPrn } from './build';
import { startOrHold } from './deployment-gate';
import { deployerOf } from './deployment-start';
import { runCreation } from './engine';
import type { EngineConfig } from './secrets';
import { pipelineView, type PipelineView } from './service';
import type { ResolvedVariables } from './variables';

export interface DeploymentSnapshot {
  organizationId: string;
  projectId: string;
  environmentName: string;
  templateId: string;
  template: PipelineTemplate;
  releaseId: string | null;
  variables: ResolvedVariables;
}

export interface SnapshotDeployOptions {
  annotations: PipelineAnnotation[];
  /** A rollback: ahead of every other waiting deployment of its environment. */
  queueFront: boolean;
  /** The activity event recorded with the pipeline, given its id. */
  activity: (pipelineId: string) => ActivityInput;
  now?: Date;
}

/** Creates the snapshot's DEPLOYMENT pipeline, started or held by the deployment gate, in one write. */
export async function deploySnapshot(
  db: HttpDatabase,
  config: EngineConfig,
  principal: AuthenticatedPrincipal,
  snapshot: DeploymentSnapshot,
  options: SnapshotDeployOptions,
): Promise<PipelineView> {
  const rules = snapshot.template.approvalRulePrns.length > 0 ? await rulesByPrn(db, snapshot.organizationId) : new Map();
  const id = crypto.randomUUID();
  return runCreation(
    db,
    config,
    id,
    async (draft) => {
      const pipeline = await buildPipeline(draft, config, {
        id,
        type: 'DEPLOYMENT',
        organizationId: snapshot.organizationId,
        projectId: snapshot.projectId,
        templateId: snapshot.templateId,
        template: snapshot.template,
        environmentName: snapshot.environmentName,
        parent: null,
        releaseId: snapshot.releaseId,
        variables: snapshot.variables,
        annotations: options.annotations,
        trigger: deployerOf(principal),
        rules,
        queueFront: options.queueFront,
      });
      await startOrHold(db, draft, pipeline);
      draft.record(principal, options.activity(id));
      return pipelineView(pipeline);
    },
    options.now,
  );
}
