// Nested pipelines: a `pipeline` block of a stage starts a NESTED pipeline from the template
// version its `template_id` names (the id or PRN of a template version in the same project), with its `variables`
// evaluated in the parent's scope and checked against that template. The node runs as long as the
// nested pipeline does and ends as it ends. A template or variables that cannot be resolved fail
// the node (with the reason in its event), not the request that moved the pipeline on.
import { and, eq } from 'drizzle-orm';
import type { HttpDatabase } from '../../db/client';
import { pipelineTemplates, type PipelineNodeRow } from '../../db/schema';
import { AppError } from '../../errors';
import { isUuid } from '../ids';
import { looksLikePrn, parsePrn } from '../prn';
import { pipelineTemplateIdsByPath } from '../templates/service';
import type { PipelineTemplate } from '../templates/model';
import { reasonOf, scopeOf, templateNested, type EngineContext } from './advance';
import { buildPipeline, rulesByPrn } from './build';
import type { Draft } from './draft';
import { evaluateExpression, ExpressionError } from './expressions';
import type { RuleInfo } from './tree';
import { resolveVariables } from './variables';

export interface NestedTemplate {
  id: string;
  compiled: PipelineTemplate;
  rules: Map<string, RuleInfo>;
}

/** The template version `id` (or PRN) of the project with its organization's approval rules, or undefined. */
export type NestedTemplateLoader = (projectId: string, organizationId: string, id: string) => Promise<NestedTemplate | undefined>;

/** `prn:pipeline_template:<org>/<project>/<name>/<version>`; the project check follows in the loader. */
async function idOfPrn(db: HttpDatabase, prn: string): Promise<string | undefined> {
  const parsed = parsePrn(prn);
  if (parsed?.type !== 'pipeline_template') return undefined;
  return (await pipelineTemplateIdsByPath(db, [parsed.path])).get(parsed.path.join('/'));
}

export function nestedTemplateLoader(db: HttpDatabase): NestedTemplateLoader {
  return async (projectId, organizationId, reference) => {
    const id = looksLikePrn(reference) ? await idOfPrn(db, reference) : reference;
    if (id === undefined || !isUuid(id)) return undefined;
    const [[row], rules] = await Promise.all([
      db
        .select({ id: pipelineTemplates.id, compiled: pipelineTemplates.compiled })
        .from(pipelineTemplates)
        .where(and(eq(pipelineTemplates.id, id), eq(pipelineTemplates.projectId, projectId))),
      rulesByPrn(db, organizationId),
    ]);
    return row ? { ...row, rules } : undefined;
  };
}

export async function startNested(draft: Draft, ctx: EngineContext, node: PipelineNodeRow): Promise<void> {
  const parent = draft.pipeline(node.pipelineId);
  const block = templateNested(draft, node);
  try {
    const scope = await scopeOf(draft, ctx.config, parent);
    const templateId = evaluateExpression(block.templateId, scope);
    if (typeof templateId !== 'string') throw new ExpressionError('template_id must be a string');
    const template = await ctx.loadNestedTemplate(parent.projectId, parent.organizationId, templateId);
    if (!template) throw new ExpressionError(`template_id: no pipeline template ${templateId} in this project`);
    const given = block.variables ? evaluateExpression(block.variables, scope) : {};
    const child = await buildPipeline(draft, ctx.config, {
      type: 'NESTED',
      organizationId: parent.organizationId,
      projectId: parent.projectId,
      templateId: template.id,
      template: template.compiled,
      environmentName: null,
      rootId: parent.rootPipelineId,
      parent: { pipelineId: parent.id, nodeId: node.id },
      releaseId: parent.releaseId,
      variables: resolveVariables(template.compiled, given as Record<string, unknown>, `${node.path}.variables`),
      annotations: [],
      trigger: { kind: 'system', id: parent.id, name: `pipeline ${parent.id}` },
      rules: template.rules,
    });
    node.nestedPipelineId = child.id;
    draft.setNode(node, 'run', 'RUNNING', { nestedPipelineId: child.id });
    draft.setPipeline(child, 'start', 'RUNNING');
  } catch (error) {
    if (!(error instanceof ExpressionError) && !(error instanceof AppError)) throw error;
    draft.setNode(node, 'fail', 'FAILED', { reason: reasonOf(error) });
  }
}
