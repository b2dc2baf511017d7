// A release lifecycle's HCL, parsed and validated into the model a release's RELEASE_LIFECYCLE
// pipeline is built from (model.ts). The same language as pipeline templates and the same compiler
// parts (templates/compiler.ts): every problem at once, each with its line and column. A stage has
// an optional `pre` block (approval rules, gate tasks), one or more `deployment` blocks (an
// environment each, unique within the stage, with approval rules) and an optional `post` block.
// Outputs of a `pre`/`post` task are read as action_outputs.stage.<stage>.<pre|post>.task...; only
// what has run may be read: earlier stages, the own stage's `pre` from `post`, a gate's own task.
// Approval rule PRNs are checked against the organization by the service (`approvalRulePrns`).
import { isResourceName } from '../names';
import type { Block, Body } from '../templates/hcl/ast';
import { templateLimits } from '../templates/compile';
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
} from '../templates/compiler';
import type { TemplateProblem } from '../templates/model';
import type { StageOutline, StagePart } from '../templates/references';
import type { LifecycleDeployment, LifecycleStage, LifecycleStagePart, ReleaseLifecycleTemplate } from './model';

export type LifecycleCompileResult = { ok: true; template: ReleaseLifecycleTemplate } | { ok: false; problems: TemplateProblem[] };

const topLevel = { attributes: ['stage_order'], blocks: ['stage', ...sharedTopLevelBlocks] };

/** Compiles a lifecycle's HCL; every problem comes back at once, or the model when there is none. */
export function compileReleaseLifecycle(source: string): LifecycleCompileResult {
  const parsed = parseSource(source);
  if (!parsed.ok) return parsed;
  const body = parsed.body;
  const compiler = new Compiler();
  const { attributes, blocks } = compiler.parts(body, 'a release lifecycle', topLevel);
  const byType = (type: string) => blocks.filter((block) => block.blockType === type);

  const shared = compileSharedBlocks(compiler, byType);
  const stageBlocks = byType('stage');
  const environmentNames = new Set<string>();
  const stagesInFileOrder = stageBlocks.flatMap((block) => compileStage(compiler, block, declaredFor(shared), environmentNames));
  unique(compiler, stageBlocks, 'stage');
  if (stageBlocks.length === 0)
    compiler.report(body.range, 'A release lifecycle needs at least one stage: stage "<name>" { deployment { environment = "<name>" } }.');
  const stages = orderStages(compiler, stagesInFileOrder, attributes.get('stage_order'));
  checkSize(compiler, body, stageBlocks);

  const outline = new Map<string, StageOutline>();
  stages.forEach((stage, index) => {
    if (!outline.has(stage.name)) {
      outline.set(stage.name, { index, tasks: new Map(), parts: { pre: taskOutline(stage.pre.tasks), post: taskOutline(stage.post.tasks) } });
    }
  });
  compiler.checkReferences({
    variables: new Set(shared.variables.map((variable) => variable.name)),
    jwts: new Set(shared.jwts.map((jwt) => jwt.name)),
    vcsTokens: new Set(shared.vcsTokens.map((token) => token.name)),
    stages: outline,
    stageParts: true,
  });

  if (compiler.problems.length > 0) return { ok: false, problems: inSourceOrder(compiler.problems) };
  return {
    ok: true,
    template: {
      variables: shared.variables,
      stages,
      plugins: shared.plugins,
      pluginRequirements: shared.pluginRequirements,
      jwts: shared.jwts,
      volumes: shared.volumes,
      vcsTokens: shared.vcsTokens,
      approvalRulePrns: [...compiler.approvalRulePrns],
      environmentNames: [...environmentNames],
    },
  };
}

function compileStage(compiler: Compiler, block: Block, declared: Declared, environmentNames: Set<string>): LifecycleStage[] {
  const name = compiler.label(block);
  const where = `stage "${name ?? ''}"`;
  const { blocks } = compiler.parts(block.body, where, { attributes: [], blocks: ['pre', 'deployment', 'post'] });
  const stage = name ?? '';
  const pre = compilePart(compiler, blocks, 'pre', stage, declared);
  const post = compilePart(compiler, blocks, 'post', stage, declared);
  // Tasks of pre and post are nodes of one stage: their names share one namespace.
  const taskBlocks = blocks
    .filter((child) => child.blockType !== 'deployment')
    .flatMap((child) => child.body.items.filter((item): item is Block => item.type === 'block' && item.blockType === 'task'));
  const taskNames = new Map<string, Block>();
  for (const task of taskBlocks) {
    const taskName = task.labels.length === 1 ? task.labels[0]! : undefined;
    if (taskName === undefined) continue;
    const first = taskNames.get(taskName);
    if (first)
      compiler.report(
        task.range,
        `Duplicate task "${taskName}" in ${where}: it is already declared at line ${first.range.start.line} (pre and post tasks share one namespace).`,
      );
    else taskNames.set(taskName, task);
  }
  const deploymentBlocks = blocks.filter((child) => child.blockType === 'deployment');
  if (deploymentBlocks.length === 0) compiler.report(block.range, `${where} needs at least one deployment block: deployment { environment = "<name>" }.`);
  const seen = new Map<string, Block>();
  const deployments = deploymentBlocks.flatMap((child): LifecycleDeployment[] => {
    compiler.noLabels(child);
    const parts = compiler.parts(child.body, `a deployment of ${where}`, { attributes: ['environment', 'approval_rules'], blocks: [] });
    const approvalRules = compiler.approvalRules(parts.attributes.get('approval_rules'));
    const environmentAttribute = parts.attributes.get('environment');
    if (!environmentAttribute) {
      compiler.report(child.range, `A deployment of ${where} needs environment: environment = "<name>".`);
      return [];
    }
    const environment = compiler.string(environmentAttribute);
    if (environment === undefined) return [];
    if (!isResourceName(environment)) {
      compiler.report(
        environmentAttribute.expression.range,
        `environment "${environment}" is not an environment name: 1-64 lowercase letters, digits or inner hyphens.`,
      );
      return [];
    }
    const first = seen.get(environment);
    if (first) {
      compiler.report(
        environmentAttribute.expression.range,
        `${where} deploys to environment "${environment}" twice: it already has a deployment to it at line ${first.range.start.line}.`,
      );
      return [];
    }
    seen.set(environment, child);
    environmentNames.add(environment);
    return [{ environment, approvalRules }];
  });
  return name === undefined ? [] : [{ name, pre, deployments, post }];
}

/** The stage's `pre` or `post` block (at most one; none is an empty part). */
function compilePart(compiler: Compiler, blocks: Block[], part: StagePart, stage: string, declared: Declared): LifecycleStagePart {
  const [block, ...extra] = blocks.filter((child) => child.blockType === part);
  for (const more of extra) compiler.report(more.range, `stage "${stage}" has at most one ${part} block.`);
  if (!block) return { approvalRules: [], tasks: [] };
  compiler.noLabels(block);
  const where = `the ${part} block of stage "${stage}"`;
  const { attributes, blocks: children } = compiler.parts(block.body, where, { attributes: ['approval_rules'], blocks: ['task'] });
  const approvalRules = compiler.approvalRules(attributes.get('approval_rules'));
  const tasks = children.flatMap((child) => compileTask(compiler, child, { stage, part }, declared));
  if (children.length === 0 && !attributes.has('approval_rules')) {
    compiler.report(block.range, `${where} needs a task or approval_rules: ${part} { approval_rules = ["prn:approval_rule:<organization>/<name>"] }.`);
  }
  return { approvalRules, tasks };
}

/** Reports a lifecycle past templateLimits: its stages, and tasks and deployments per stage and in all. */
function checkSize(compiler: Compiler, body: Body, stageBlocks: Block[]): void {
  const over = stageBlocks[templateLimits.stages];
  if (over) compiler.report(over.range, `A release lifecycle has at most ${templateLimits.stages} stages; this one has ${stageBlocks.length}.`);
  let children = 0;
  for (const block of stageBlocks) {
    let count = 0;
    for (const item of block.body.items) {
      if (item.type !== 'block') continue;
      if (item.blockType === 'deployment') count += 1;
      else if (item.blockType === 'pre' || item.blockType === 'post') {
        count += item.body.items.filter((child) => child.type === 'block' && child.blockType === 'task').length;
      }
    }
    children += count;
    if (count > templateLimits.childrenPerStage) {
      compiler.report(
        block.range,
        `stage "${block.labels[0] ?? ''}" has ${count} tasks and deployments; a stage has at most ${templateLimits.childrenPerStage}.`,
      );
    }
  }
  if (children > templateLimits.children) {
    compiler.report(body.range, `A release lifecycle has at most ${templateLimits.children} tasks and deployments in all; this one has ${children}.`);
  }
}
