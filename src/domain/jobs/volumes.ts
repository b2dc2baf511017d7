// The volumes a job's task mounts (`mount_point { volume = "<name>" }`), resolved when its executor
// fetches the job, as the template's `jwt` and `plugin` blocks are: each `vcs` volume's options
// (`provider_id`, `repository_path`, `ref`) evaluated with the pipeline's variables, the provider
// looked up by PRN or id — only one of the job's own project or of its organization (projects
// inherit their organization's providers; another project's or organization's is as good as
// unknown) — and its access token handed over (refreshed first when it is an OAuth token about to
// expire). What cannot be resolved is not an error of the request: the volume carries a `problem`,
// and the executor fails the job with it before any action runs.
import { eq, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { PhobosConfig } from '../../config/load';
import type { HttpDatabase } from '../../db/client';
import { pipelineNodes, pipelines, vcsProviders } from '../../db/schema';
import { AppError } from '../../errors';
import type { JobVolume } from '../../protocol/agent-v1';
import { isUuid } from '../ids';
import { evaluateExpression, ExpressionError } from '../pipelines/expressions';
import { redactSensitive } from '../pipelines/redact';
import { idOfPrn, looksLikePrn } from '../prn';
import { sharedEvaluationBudget } from '../templates/hcl/evaluate';
import type { TemplateMountPoint, TemplateVolume } from '../templates/model';
import { vcsAccessToken } from '../vcs-providers/access-token';
import { vcsProviderIdsByPath } from '../vcs-providers/service';

export interface JobVolumeContext {
  db: HttpDatabase;
  config: PhobosConfig;
  organizationId: string;
  projectId: string;
  /** The job's task node: its template task's mount points are the volumes wanted. */
  nodeId: string;
  /** The pipeline's variables, sensitive ones included (volume options may read `var.*`). */
  variables: Record<string, unknown>;
  /** The sensitive ones alone: kept out of problems. */
  sensitive: Record<string, unknown>;
}

/** A problem of the volume, for the job's failure reason. */
class VolumeProblem extends Error {}

const stageNodes = alias(pipelineNodes, 'stage_node');

/** The mount points of the job's task, from its pipeline's compiled template. */
async function mountPointsOf(db: HttpDatabase, nodeId: string): Promise<TemplateMountPoint[]> {
  const [task] = await db
    .select({
      mountPoints: sql<TemplateMountPoint[] | null>`(
        select task->'mountPoints'
        from jsonb_array_elements(${pipelines.template}->'stages') as s(stage), jsonb_array_elements(stage->'tasks') as t(task)
        where stage->>'name' = ${stageNodes.name} and task->>'name' = ${pipelineNodes.name}
        limit 1)`,
    })
    .from(pipelineNodes)
    .innerJoin(stageNodes, eq(stageNodes.id, pipelineNodes.parentNodeId))
    .innerJoin(pipelines, eq(pipelines.id, pipelineNodes.pipelineId))
    .where(eq(pipelineNodes.id, nodeId));
  return task?.mountPoints ?? [];
}

const segment = /^[A-Za-z0-9._-]+$/;

function repositoryPathOf(provider: 'github' | 'gitlab', value: string): string {
  const path = value.trim();
  const parts = path.split('/');
  if (parts.length < 2 || (provider === 'github' && parts.length !== 2) || parts.some((part) => !segment.test(part) || part === '.' || part === '..')) {
    throw new VolumeProblem(
      `repository_path "${value}" must be ${provider === 'github' ? '<owner>/<repository>' : '<group>/<project> (groups may nest)'} on ${provider === 'github' ? 'GitHub' : 'GitLab'}`,
    );
  }
  return path;
}

function refOf(value: string): string {
  const ref = value.trim();
  if (!ref || ref.length > 255 || /[\s~^:?*[\\]|\.\.|^\/|\/$/.test(ref)) throw new VolumeProblem(`ref "${value}" must be a branch, tag or commit`);
  return ref;
}

/** The provider's id for `reference` (`prn:vcs_provider:<org>[/<project>]/<name>`, or its id), or undefined. */
async function providerIdOf(db: HttpDatabase, reference: string): Promise<string | undefined> {
  if (!looksLikePrn(reference)) return isUuid(reference) ? reference : undefined;
  return idOfPrn(db, reference, 'vcs_provider', vcsProviderIdsByPath);
}

async function resolveVolume(context: JobVolumeContext, block: TemplateVolume | undefined, mount: TemplateMountPoint): Promise<JobVolume> {
  const base = { name: mount.volume, type: 'vcs' as const, mountPath: mount.path };
  try {
    if (!block) throw new VolumeProblem('the template has no such volume block');
    if (block.type !== 'vcs') throw new VolumeProblem(`type "${block.type}" is not supported (only "vcs")`);
    const budget = sharedEvaluationBudget(100_000);
    const option = (name: string): string | null => {
      const expression = block.attributes[name];
      if (!expression) return null;
      let value: unknown;
      try {
        value = evaluateExpression(expression, { var: context.variables, action_outputs: {} }, budget);
      } catch (error) {
        if (error instanceof ExpressionError) throw new VolumeProblem(`vcs_options ${name}: ${error.message}`);
        throw error;
      }
      if (value === null) return null;
      if (typeof value !== 'string') throw new VolumeProblem(`vcs_options ${name} must be a string`);
      return value;
    };
    const reference = option('provider_id');
    const repository = option('repository_path');
    const ref = option('ref');
    if (!reference) throw new VolumeProblem('vcs_options needs provider_id');
    if (!repository) throw new VolumeProblem('vcs_options needs repository_path');

    const id = await providerIdOf(context.db, reference.trim());
    const [provider] = id
      ? await context.db
          .select({
            id: vcsProviders.id,
            organizationId: vcsProviders.organizationId,
            projectId: vcsProviders.projectId,
            type: vcsProviders.type,
            apiUrl: vcsProviders.apiUrl,
          })
          .from(vcsProviders)
          .where(eq(vcsProviders.id, id))
      : [];
    // Another organization's or another project's provider is not this job's to use: as unknown.
    if (!provider || provider.organizationId !== context.organizationId || (provider.projectId !== null && provider.projectId !== context.projectId)) {
      throw new VolumeProblem(`provider_id: no VCS provider ${reference} in this project or its organization`);
    }
    const repositoryPath = repositoryPathOf(provider.type, repository);
    let token: string;
    try {
      token = await vcsAccessToken(context.db, context.config, provider.id);
    } catch (error) {
      if (error instanceof AppError && error.code !== 'INTERNAL') throw new VolumeProblem(error.message);
      throw error;
    }
    return {
      ...base,
      vcs: { provider: provider.type, apiUrl: provider.apiUrl, repositoryPath, ref: ref === null ? null : refOf(ref), token },
      problem: null,
    };
  } catch (error) {
    if (!(error instanceof VolumeProblem)) throw error;
    return { ...base, vcs: null, problem: `volume "${mount.volume}": ${redactSensitive(error.message, context.sensitive)}` };
  }
}

/** The volumes the job's task mounts, one per volume (the first mount_point of a volume names its path), in mount order. */
export async function resolveJobVolumes(context: JobVolumeContext, blocks: readonly TemplateVolume[]): Promise<JobVolume[]> {
  if (blocks.length === 0) return [];
  const mounts = await mountPointsOf(context.db, context.nodeId);
  const first = mounts.filter((mount, index) => mounts.findIndex((other) => other.volume === mount.volume) === index);
  return Promise.all(
    first.map((mount) =>
      resolveVolume(
        context,
        blocks.find((block) => block.name === mount.volume),
        mount,
      ),
    ),
  );
}
