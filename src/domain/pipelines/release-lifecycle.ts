// A release's lifecycle run as a RELEASE_LIFECYCLE pipeline. The lifecycle (lifecycles/model.ts) is
// mapped onto the engine's own stages, so approvals, gates, retries, cancels, events and activity
// work as for any pipeline:
//   lifecycle stage `prod`  →  engine stage `prod.pre`   its `pre` approval rules and tasks (gates too)
//                              engine stage `prod`       one PIPELINE node per `deployment`, named by
//                                                        its environment, with its approval rules
//                              engine stage `prod.post`  its `post` approval rules and tasks
// in lifecycle order; a `pre` or `post` with neither rules nor tasks is left out. Node paths read
// `stage.prod.pre.task.smoke_check` and `stage.prod.deployment.prod-1`, so a gate's condition reads
// `action_outputs.stage.prod.pre.task.smoke_check.action.probe.success` (the dots nest). Deployments
// of a stage run in parallel; a failed one fails its stage, and the later stages are skipped until it
// is retried (retryTask on the deployment node). Each deployment node starts a DEPLOYMENT pipeline
// (deployment-start.ts) from the template version chosen for its environment, which the lifecycle
// pipeline keeps as a literal `template_id` of the node.
//
// Variables: the release's variables are checked, when the lifecycle pipeline is created, against
// the lifecycle's `variable` blocks and those of every deployment template together (a name declared
// by several takes the lifecycle's declaration, else the first template's; sensitive if any declares
// it sensitive), and kept on the lifecycle pipeline (sensitive ones sealed); each deployment gets
// those its template declares. A variable sensitive somewhere but declared plain by a deployment
// template is refused: its value would be stored in the clear.
import type { BatchItem } from 'drizzle-orm/batch';
import { eq, inArray } from 'drizzle-orm';
import { authorize, type Caller } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { organizations, pipelineTemplates, projects } from '../../db/schema';
import { badInput, notFound } from '../../errors';
import { isUuid } from '../ids';
import type { ReleaseLifecycleTemplate } from '../lifecycles/model';
import { prnOf } from '../prn';
import type { Range } from '../templates/hcl/ast';
import type { PipelineTemplate, TemplateStage, TemplateVariable } from '../templates/model';
import { buildPipeline, rulesByPrn } from './build';
import { deployerOf } from './deployment-start';
import { runCreation } from './engine';
import type { EngineConfig } from './secrets';
import { pipelineView, type PipelineView } from './service';
import { resolveVariables } from './variables';

/** Which pipeline template version deploys to an environment. */
export type DeploymentTemplates = ((environment: string) => string) | { defaultTemplateId: string; perEnvironment?: Record<string, string> };

export interface CreateReleaseLifecyclePipelineInput {
  projectId: string;
  releaseId: string;
  lifecycle: ReleaseLifecycleTemplate;
  /** The stored lifecycle version it runs, kept on the pipeline. */
  lifecycleVersionId?: string;
  templateFor: DeploymentTemplates;
  /**
   * Writes to commit in the same transaction as the pipeline: `before` it (the release row it
   * belongs to) and `after` it, given its id (the release recording it).
   */
  writeWith?: { before: BatchItem<'pg'>[]; after: (pipelineId: string) => BatchItem<'pg'>[] };
  /** The release's variables (values as JSON). */
  variables?: Record<string, unknown>;
}

const range: Range = { start: { line: 1, column: 1, offset: 0 }, end: { line: 1, column: 1, offset: 0 } };

function templateIdFor(templates: DeploymentTemplates, environment: string): string {
  return typeof templates === 'function' ? templates(environment) : (templates.perEnvironment?.[environment] ?? templates.defaultTemplateId);
}

/** The engine's stages for the lifecycle (see the mapping above); `templates` by environment. */
function engineTemplate(lifecycle: ReleaseLifecycleTemplate, templates: Map<string, string>, variables: TemplateVariable[]): PipelineTemplate {
  const stages: TemplateStage[] = [];
  const part = (name: string, item: ReleaseLifecycleTemplate['stages'][number]['pre']) => {
    if (item.approvalRules.length > 0 || item.tasks.length > 0)
      stages.push({ name, when: 'auto', approvalRules: item.approvalRules, tasks: item.tasks, pipelines: [] });
  };
  for (const stage of lifecycle.stages) {
    part(`${stage.name}.pre`, stage.pre);
    stages.push({
      name: stage.name,
      when: 'auto',
      approvalRules: [],
      tasks: [],
      pipelines: stage.deployments.map((deployment) => ({
        name: deployment.environment,
        when: 'auto',
        approvalRules: deployment.approvalRules,
        templateId: { kind: 'literal', value: templates.get(deployment.environment)!, range },
        variables: null,
        environment: deployment.environment,
      })),
    });
    part(`${stage.name}.post`, stage.post);
  }
  return {
    variables,
    stages,
    agentTags: [],
    plugins: lifecycle.plugins,
    pluginRequirements: lifecycle.pluginRequirements,
    jwts: lifecycle.jwts,
    volumes: lifecycle.volumes,
    vcsTokens: lifecycle.vcsTokens,
    approvalRulePrns: lifecycle.approvalRulePrns,
  };
}

/** The lifecycle's variables, then each deployment template's not declared yet; sensitive if declared so anywhere. */
function releaseVariables(
  lifecycle: ReleaseLifecycleTemplate,
  compiled: Map<string, PipelineTemplate>,
  environmentOf: Map<string, string>,
): TemplateVariable[] {
  const declared = new Map(lifecycle.variables.map((variable) => [variable.name, { ...variable }]));
  for (const template of compiled.values()) {
    for (const variable of template.variables) {
      const seen = declared.get(variable.name);
      if (!seen) declared.set(variable.name, { ...variable });
      else if (variable.sensitive) seen.sensitive = true;
    }
  }
  for (const [id, template] of compiled) {
    for (const variable of template.variables) {
      if (!variable.sensitive && declared.get(variable.name)!.sensitive) {
        throw badInput(
          `variables.${variable.name}`,
          `is sensitive, but the pipeline template for environment ${environmentOf.get(id)} declares it plain (its value would be stored in the clear)`,
        );
      }
    }
  }
  return [...declared.values()];
}

/**
 * Creates a release's RELEASE_LIFECYCLE pipeline and starts it: its first stage starts in the same
 * transaction (a first stage of deployments without approval rules starts their DEPLOYMENT
 * pipelines at once). Needs pipeline:execute on the project; the caller is the release's creator,
 * the deployer of the deployments no one approves or retries.
 */
export async function createReleaseLifecyclePipeline(
  db: HttpDatabase,
  config: EngineConfig,
  caller: Caller,
  input: CreateReleaseLifecyclePipelineInput,
): Promise<PipelineView> {
  if (!isUuid(input.projectId)) throw notFound('Project');
  const [project] = await db
    .select({ id: projects.id, name: projects.name, organizationId: projects.organizationId, organizationName: organizations.name })
    .from(projects)
    .innerJoin(organizations, eq(organizations.id, projects.organizationId))
    .where(eq(projects.id, input.projectId));
  if (!project) throw notFound('Project');
  const target = { organizationId: project.organizationId, projectId: project.id };
  const principal = authorize(caller, 'pipeline:execute', target, 'Project');
  if (!isUuid(input.releaseId)) throw badInput('releaseId', 'must be a release id');
  if (input.lifecycleVersionId !== undefined && !isUuid(input.lifecycleVersionId)) throw badInput('lifecycleVersionId', 'must be a lifecycle version id');
  const { lifecycle } = input;
  if (lifecycle.stages.length === 0) throw badInput('lifecycle', 'has no stages');

  const templates = new Map<string, string>();
  for (const stage of lifecycle.stages) {
    const seen = new Set<string>();
    for (const deployment of stage.deployments) {
      if (seen.has(deployment.environment)) throw badInput(`lifecycle.stages.${stage.name}`, `deploys to environment ${deployment.environment} twice`);
      seen.add(deployment.environment);
      const id = templateIdFor(input.templateFor, deployment.environment);
      if (!isUuid(id)) throw badInput(`templates.${deployment.environment}`, `no pipeline template ${id} in this project`);
      templates.set(deployment.environment, id);
    }
  }
  const ids = [...new Set(templates.values())];
  const rows =
    ids.length === 0
      ? []
      : await db
          .select({ id: pipelineTemplates.id, projectId: pipelineTemplates.projectId, compiled: pipelineTemplates.compiled })
          .from(pipelineTemplates)
          .where(inArray(pipelineTemplates.id, ids));
  const compiled = new Map(rows.filter((row) => row.projectId === project.id).map((row) => [row.id, row.compiled]));
  const environmentOf = new Map<string, string>();
  for (const [environment, id] of templates) {
    if (!compiled.has(id)) throw badInput(`templates.${environment}`, `no pipeline template ${id} in this project`);
    if (!environmentOf.has(id)) environmentOf.set(id, environment);
  }
  const declared = releaseVariables(lifecycle, compiled, environmentOf);
  const template = engineTemplate(lifecycle, templates, declared);
  const variables = resolveVariables(template, input.variables);
  const rules = lifecycle.approvalRulePrns.length > 0 ? await rulesByPrn(db, project.organizationId) : new Map();

  const id = crypto.randomUUID();
  // Built again from nothing if it loses a race (a deployment it starts finds its environment taken).
  return runCreation(db, config, id, async (draft) => {
    const pipeline = await buildPipeline(draft, config, {
      id,
      type: 'RELEASE_LIFECYCLE',
      organizationId: project.organizationId,
      projectId: project.id,
      templateId: null,
      lifecycleVersionId: input.lifecycleVersionId ?? null,
      template,
      environmentName: null,
      parent: null,
      releaseId: input.releaseId,
      variables,
      annotations: [],
      trigger: deployerOf(principal),
      rules,
    });
    draft.setPipeline(pipeline, 'start', 'RUNNING');
    draft.record(principal, {
      action: 'create',
      targetType: 'pipeline',
      targetId: id,
      targetPrn: prnOf('pipeline', project.organizationName, project.name, id),
      ...target,
      payload: {
        type: 'RELEASE_LIFECYCLE',
        releaseId: input.releaseId,
        lifecycleVersionId: input.lifecycleVersionId ?? null,
        environments: Object.fromEntries(templates),
        variables: Object.keys(input.variables ?? {}),
      },
    });
    if (input.writeWith) {
      draft.leadingWrites.push(...input.writeWith.before);
      draft.trailingWrites.push(...input.writeWith.after(id));
    }
    return pipelineView(pipeline);
  });
}
