// Cutting a release: the release and, when it follows a lifecycle, the RELEASE_LIFECYCLE pipeline
// that moves it through environments, written in one transaction — a release is never left without
// the pipeline it should have, and a pipeline is never left without its release. The lifecycle is
// copied in as it is now (the release's snapshot), as are its templates (by version id).
import type { Caller } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { badInput } from '../../errors';
import { releaseLifecycleForProject } from '../lifecycles/service';
import { createReleaseLifecyclePipeline } from '../pipelines/release-lifecycle';
import type { EngineConfig } from '../pipelines/secrets';
import { startedLifecyclePipeline } from './pipeline-link';
import { getRelease, prepareRelease, writeRelease, type CreateReleaseInput, type ReleaseView } from './service';

export type CutReleaseInput = Omit<CreateReleaseInput, 'lifecycle'>;

export async function cutRelease(db: HttpDatabase, config: EngineConfig, caller: Caller, input: CutReleaseInput): Promise<ReleaseView> {
  if (input.lifecycleId === undefined) {
    const prepared = await prepareRelease(db, config, caller, input);
    await writeRelease(prepared, () => db.batch(prepared.statements));
    return getRelease(db, caller, prepared.id);
  }
  const lifecycle = await releaseLifecycleForProject(db, caller, input.projectId, input.lifecycleId);
  const prepared = await prepareRelease(db, config, caller, { ...input, lifecycle: lifecycle.compiled });
  const perEnvironment = Object.fromEntries((input.environmentTemplates ?? []).map((entry) => [entry.environmentName, entry.pipelineTemplateId]));
  for (const environment of lifecycle.compiled.environmentNames) {
    if (perEnvironment[environment] === undefined && input.pipelineTemplateId === undefined) {
      throw badInput(
        'environmentTemplates',
        `the lifecycle deploys to ${environment}: give pipelineTemplateId, or an environmentTemplates entry for ${environment}`,
      );
    }
  }
  await writeRelease(prepared, () =>
    createReleaseLifecyclePipeline(db, config, caller, {
      projectId: input.projectId,
      releaseId: prepared.id,
      lifecycle: lifecycle.compiled,
      lifecycleVersionId: lifecycle.id,
      templateFor: (environment) => perEnvironment[environment] ?? input.pipelineTemplateId!,
      variables: input.variables,
      writeWith: { before: prepared.statements, after: (pipelineId) => [startedLifecyclePipeline(db, prepared.id, pipelineId)] },
    }),
  );
  return getRelease(db, caller, prepared.id);
}
