// Nested pipelines: a `pipeline` block of a stage starts a NESTED pipeline from the template
// version its `template_id` names (the id or PRN of a template version in the same project), with its `variables`
// evaluated in the parent's scope and checked against that template. The node runs as long as the
// nested pipeline does and ends as it ends. A template or variables that cannot be resolved fail
// the node (with the reason in its event), not the request that moved the pipeline on.
// Bounds: a tree is at most `maxNestingDepth` pipelines deep (a template may start itself again
// through a template_id read from a variable) and holds at most `maxTreeNodes` nodes (a stage of
// nested pipelines of large templates); a nested pipeline past either fails its node. A value of
// a sensitive variable may only be passed on to a sensitive variable of the nested template.
import { and, eq } from 'drizzle-orm';
import type { HttpDatabase } from '../../db/client';
import { pipelineTemplates, type PipelineNodeRow, type PipelineRow } from '../../db/schema';
import { AppError } from '../../errors';
import { isUuid } from '../ids';
import { idOfPrn, looksLikePrn } from '../prn';
import { pipelineTemplateIdsByPath } from '../templates/service';
import type { Expression } from '../templates/hcl/ast';
import { referencedVariables } from '../templates/hcl/evaluate';
import type { PipelineTemplate } from '../templates/model';
import { objectKey } from '../templates/static-values';
import { reasonOf, scopeOf, templateNested, type EngineContext } from './advance';
import { buildPipeline, rulesByPrn } from './build';
import type { Draft } from './draft';
import { evaluateExpression, ExpressionError } from './expressions';
import type { RuleInfo } from './tree';
import { resolveVariables } from './variables';

/** Pipelines in a tree from its root down, the root included. */
export const maxNestingDepth = 10;
/** Stages, tasks and nested pipelines of a tree, all its pipelines together. */
export const maxTreeNodes = 2000;

export interface NestedTemplate {
  id: string;
  compiled: PipelineTemplate;
  rules: Map<string, RuleInfo>;
}

/** The template version `id` (or PRN) of the project with its organization's approval rules, or undefined. */
export type NestedTemplateLoader = (projectId: string, organizationId: string, id: string) => Promise<NestedTemplate | undefined>;

export function nestedTemplateLoader(db: HttpDatabase): NestedTemplateLoader {
  return async (projectId, organizationId, reference) => {
    // `prn:pipeline_template:<org>/<project>/<name>/<version>`; the project check follows.
    const id = looksLikePrn(reference) ? await idOfPrn(db, reference, 'pipeline_template', pipelineTemplateIdsByPath) : reference;
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
    const templateId = evaluateExpression(block.templateId, scope, draft.evaluationBudget);
    if (typeof templateId !== 'string') throw new ExpressionError('template_id must be a string');
    if (depthOf(draft, parent) >= maxNestingDepth) throw new ExpressionError(`nested pipelines may be at most ${maxNestingDepth} levels deep`);
    const template = await ctx.loadNestedTemplate(parent.projectId, parent.organizationId, templateId);
    if (!template) throw new ExpressionError(`template_id: no pipeline template ${templateId} in this project`);
    const nodes = draft.tree.nodes.size + nodeCount(template.compiled);
    if (nodes > maxTreeNodes) {
      throw new ExpressionError(
        `a pipeline with its nested pipelines has at most ${maxTreeNodes} stages, tasks and nested pipelines; this one would have ${nodes}`,
      );
    }
    if (block.variables) checkSensitiveFlow(parent.template, template.compiled, block.variables, `${node.path}.variables`);
    const given = block.variables ? evaluateExpression(block.variables, scope, draft.evaluationBudget) : {};
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
    draft.setNode(node, 'fail', 'FAILED', { reason: reasonOf(draft, parent.id, error) });
  }
}

/** How many pipelines deep `pipeline` is: 1 for a root. */
function depthOf(draft: Draft, pipeline: PipelineRow): number {
  let depth = 1;
  for (let at = pipeline; at.parentPipelineId !== null; at = draft.pipeline(at.parentPipelineId)) depth += 1;
  return depth;
}

const nodeCount = (template: PipelineTemplate) => template.stages.reduce((sum, stage) => sum + 1 + stage.tasks.length + stage.pipelines.length, 0);

/**
 * A value computed from a sensitive variable of the parent may only be given to a sensitive
 * variable of the nested template: a plain one is stored and shown as it is. `var` read whole (or
 * by a computed key) counts as reading every variable.
 */
function checkSensitiveFlow(parent: PipelineTemplate, child: PipelineTemplate, variables: Expression, field: string): void {
  const sensitive = new Set(parent.variables.filter((variable) => variable.sensitive).map((variable) => variable.name));
  if (sensitive.size === 0 || variables.kind !== 'object') return;
  const childSensitive = new Set(child.variables.filter((variable) => variable.sensitive).map((variable) => variable.name));
  for (const item of variables.items) {
    const name = objectKey(item.key);
    if (name !== undefined && childSensitive.has(name)) continue;
    const read = referencedVariables(item.value).find(([root, variable]) => root === 'var' && (variable === undefined || sensitive.has(variable)));
    if (read) {
      const what = read[1] === undefined ? 'the sensitive variables' : `the sensitive variable var.${read[1]}`;
      throw new ExpressionError(`${field}.${name ?? '…'}: reads ${what}, but this variable of the nested template is not sensitive`);
    }
  }
}
