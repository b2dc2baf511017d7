// A pipeline template's HCL, parsed and validated into the model the engine builds pipelines from
// (model.ts). Every problem is collected in one pass, each with its line and column and words a
// person can act on, so an upload is fixed in one round rather than one error at a time. Only what
// can be known at upload is checked here; approval rule PRNs are checked against the organization by
// the service (they are collected in `approvalRulePrns`).
import type { Block, Body } from './hcl/ast';
import type { CompileResult, NodeWhen, PipelineTemplate, StageWhen, TemplateNestedPipeline, TemplateStage } from './model';
import {
  compileSharedBlocks,
  Compiler,
  compileTask,
  declaredFor,
  inSourceOrder,
  orderStages,
  parseSource,
  sharedTopLevelBlocks,
  taskOutline,
  unique,
  type Declared,
} from './compiler';
import type { StageOutline } from './references';

const topLevel = { attributes: ['stage_order'], blocks: ['stage', 'agent', ...sharedTopLevelBlocks] };

/**
 * Caps on a template's size in nodes. Every pipeline created from it inserts one row per node in one
 * statement, and every transition of the pipeline walks them all: a 128 KiB upload could otherwise
 * hold thousands of tiny stages or tasks.
 */
export const templateLimits = {
  stages: 100,
  /** Tasks and nested pipelines of one stage. */
  childrenPerStage: 500,
  /** Tasks and nested pipelines of all stages together. */
  children: 1000,
} as const;
/** Compiles a template's HCL; every problem comes back at once, or the model when there is none. */
export function compilePipelineTemplate(source: string): CompileResult {
  const parsed = parseSource(source);
  if (!parsed.ok) return parsed;
  const body = parsed.body;
  const compiler = new Compiler();
  const { attributes, blocks } = compiler.parts(body, 'a pipeline template', topLevel);
  const byType = (type: string) => blocks.filter((block) => block.blockType === type);

  const agentTags = compileAgent(compiler, byType('agent'));
  const shared = compileSharedBlocks(compiler, byType);
  const stageBlocks = byType('stage');
  const stagesInFileOrder = stageBlocks.flatMap((block) => compileStage(compiler, block, declaredFor(shared)));
  unique(compiler, stageBlocks, 'stage');
  if (stageBlocks.length === 0) compiler.report(body.range, 'A pipeline template needs at least one stage: stage "<name>" { task "<name>" { ... } }.');
  const stages = orderStages(compiler, stagesInFileOrder, attributes.get('stage_order'));
  checkSize(compiler, body, stageBlocks);

  const outline = new Map<string, StageOutline>();
  stages.forEach((stage, index) => {
    if (!outline.has(stage.name)) outline.set(stage.name, { index, tasks: taskOutline(stage.tasks) });
  });
  compiler.checkReferences({
    variables: new Set(shared.variables.map((variable) => variable.name)),
    jwts: new Set(shared.jwts.map((jwt) => jwt.name)),
    vcsTokens: new Set(shared.vcsTokens.map((token) => token.name)),
    stages: outline,
  });

  if (compiler.problems.length > 0) return { ok: false, problems: inSourceOrder(compiler.problems) };
  const template: PipelineTemplate = {
    variables: shared.variables,
    stages,
    agentTags,
    plugins: shared.plugins,
    pluginRequirements: shared.pluginRequirements,
    jwts: shared.jwts,
    volumes: shared.volumes,
    vcsTokens: shared.vcsTokens,
    approvalRulePrns: [...compiler.approvalRulePrns],
  };
  return { ok: true, template };
}

function compileAgent(compiler: Compiler, blocks: Block[]): string[] {
  for (const extra of blocks.slice(1)) compiler.report(extra.range, 'A template has at most one agent block.');
  const block = blocks[0];
  if (!block) return [];
  compiler.noLabels(block);
  const { attributes } = compiler.parts(block.body, 'agent', { attributes: ['tags'], blocks: [] });
  return compiler.stringList(attributes.get('tags')) ?? [];
}

function compileStage(compiler: Compiler, block: Block, declared: Declared): TemplateStage[] {
  const name = compiler.label(block);
  const where = `stage "${name ?? ''}"`;
  const { attributes, blocks } = compiler.parts(block.body, where, { attributes: ['when', 'approval_rules'], blocks: ['task', 'pipeline'] });
  const when = compiler.oneOf<StageWhen>(attributes.get('when'), ['auto', 'pipeline_failure'], 'auto');
  const approvalRules = compiler.approvalRules(attributes.get('approval_rules'));
  const stageName = name ?? '';
  const tasks = blocks.filter((child) => child.blockType === 'task').flatMap((child) => compileTask(compiler, child, { stage: stageName }, declared));
  const pipelines = blocks.filter((child) => child.blockType === 'pipeline').flatMap((child) => compileNestedPipeline(compiler, child, stageName));
  // Tasks and nested pipelines are nodes of one stage: their names share one namespace.
  unique(compiler, blocks, `task or pipeline in ${where}`);
  if (blocks.length === 0) compiler.report(block.range, `${where} needs at least one task or nested pipeline.`);
  return name === undefined ? [] : [{ name, when, approvalRules, tasks, pipelines }];
}

function compileNestedPipeline(compiler: Compiler, block: Block, stage: string): TemplateNestedPipeline[] {
  const name = compiler.label(block);
  const where = `pipeline "${name ?? ''}" of stage "${stage}"`;
  const { attributes } = compiler.parts(block.body, where, { attributes: ['template_id', 'variables', 'when', 'approval_rules', 'environment'], blocks: [] });
  const when = compiler.oneOf<NodeWhen>(attributes.get('when'), ['auto', 'manual'], 'auto');
  const approvalRules = compiler.approvalRules(attributes.get('approval_rules'));
  const environment = compiler.string(attributes.get('environment')) ?? null;
  const at = { stage, ownTaskOutputs: false };
  const templateId = attributes.get('template_id');
  if (!templateId) compiler.report(block.range, `${where} needs template_id: the PRN or id of the pipeline template version it runs.`);
  else compiler.references(templateId.expression, at);
  const variables = attributes.get('variables');
  if (variables) {
    if (variables.expression.kind !== 'object') compiler.report(variables.expression.range, 'variables must be an object: variables = { name = value }.');
    compiler.references(variables.expression, at);
  }
  if (name === undefined || !templateId) return [];
  return [{ name, when, approvalRules, templateId: templateId.expression, variables: variables?.expression ?? null, environment }];
}

/** Reports a template past templateLimits: too many stages, children of a stage, or children in all. */
function checkSize(compiler: Compiler, body: Body, stageBlocks: Block[]): void {
  const over = stageBlocks[templateLimits.stages];
  if (over) compiler.report(over.range, `A template has at most ${templateLimits.stages} stages; this one has ${stageBlocks.length}.`);
  let children = 0;
  for (const block of stageBlocks) {
    const count = block.body.items.filter((item) => item.type === 'block' && (item.blockType === 'task' || item.blockType === 'pipeline')).length;
    children += count;
    if (count > templateLimits.childrenPerStage) {
      compiler.report(
        block.range,
        `stage "${block.labels[0] ?? ''}" has ${count} tasks and nested pipelines; a stage has at most ${templateLimits.childrenPerStage}.`,
      );
    }
  }
  if (children > templateLimits.children) {
    compiler.report(body.range, `A template has at most ${templateLimits.children} tasks and nested pipelines in all; this one has ${children}.`);
  }
}
