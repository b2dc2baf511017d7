// What an expression of a template may refer to, checked at upload so a typo fails then and not
// halfway through a pipeline: `var.<name>` a declared variable, `jwt.<name>` and `vcs_token.<name>`
// declared blocks, `action_outputs.stage.<stage>.task.<task>.action.<alias>...` an action that has
// run by the time the expression is evaluated (an earlier stage; a gate's success_condition may also
// read its own task), and function calls known functions. In a release lifecycle, tasks sit in a
// stage's `pre` and `post` blocks and are read as `action_outputs.stage.<stage>.<pre|post>.task...`;
// run order is then stage by stage, `pre` before `post`.
import type { Expression, Range } from './hcl/ast';
import { didYouMean } from './suggest';

/** The blocks of a release lifecycle stage that hold tasks. */
export type StagePart = 'pre' | 'post';

/** A stage as references see it: its place in run order, its tasks and their action aliases. */
export interface StageOutline {
  index: number;
  tasks: Map<string, Set<string>>;
  /** Release lifecycles: the tasks of the stage's `pre` and `post` blocks (`tasks` is then unused). */
  parts?: Record<StagePart, Map<string, Set<string>>>;
}

export interface ReferenceScope {
  variables: ReadonlySet<string>;
  jwts: ReadonlySet<string>;
  vcsTokens: ReadonlySet<string>;
  stages: ReadonlyMap<string, StageOutline>;
  functions: ReadonlySet<string>;
  /** Where the expression is evaluated; absent where no action has run (variables, plugins, volumes). */
  at?: { stage: string; part?: StagePart; task?: string; ownTaskOutputs: boolean };
  /** Release lifecycles: outputs are addressed through a stage's `pre` or `post` block. */
  stageParts?: boolean;
}

type Report = (range: Range, message: string) => void;

interface Step {
  name: string | undefined;
  range: Range;
}

const roots = ['var', 'action_outputs', 'jwt', 'vcs_token'];

/** Reports every reference in `expression` that `scope` cannot satisfy. */
export function checkReferences(expression: Expression, scope: ReferenceScope, report: Report): void {
  walk(expression, new Set(), scope, report);
}

function walk(expression: Expression, locals: ReadonlySet<string>, scope: ReferenceScope, report: Report): void {
  const visit = (child: Expression, inner = locals) => walk(child, inner, scope, report);
  switch (expression.kind) {
    case 'literal':
    case 'splatItem':
      return;
    case 'template':
      for (const part of expression.parts) if (typeof part !== 'string') visit(part);
      return;
    case 'variable':
    case 'getAttr':
    case 'index':
      traversal(expression, locals, scope, report);
      return;
    case 'splat':
      visit(expression.source);
      visit(expression.each);
      return;
    case 'tuple':
      for (const item of expression.items) visit(item);
      return;
    case 'object':
      for (const item of expression.items) {
        // A bare key is the key's name, not a reference.
        if (item.key.kind !== 'variable') visit(item.key);
        visit(item.value);
      }
      return;
    case 'call':
      if (!scope.functions.has(expression.name)) {
        report(expression.range, `Unknown function "${expression.name}".${didYouMean(expression.name, scope.functions)}`);
      }
      for (const argument of expression.args) visit(argument);
      return;
    case 'unary':
      visit(expression.operand);
      return;
    case 'binary':
      visit(expression.left);
      visit(expression.right);
      return;
    case 'conditional':
      visit(expression.condition);
      visit(expression.then);
      visit(expression.else);
      return;
    case 'for': {
      visit(expression.collection);
      const inner = new Set(locals);
      inner.add(expression.valueVariable);
      if (expression.keyVariable) inner.add(expression.keyVariable);
      if (expression.keyExpression) visit(expression.keyExpression, inner);
      visit(expression.valueExpression, inner);
      if (expression.condition) visit(expression.condition, inner);
      return;
    }
    case 'parens':
      visit(expression.expression);
      return;
  }
}

/** `a.b["c"][0]`: the root, then each step (a name, or undefined for a computed index). */
function traversal(expression: Expression, locals: ReadonlySet<string>, scope: ReferenceScope, report: Report): void {
  const steps: Step[] = [];
  let current = expression;
  while (current.kind === 'getAttr' || current.kind === 'index') {
    if (current.kind === 'getAttr') steps.unshift({ name: current.name, range: current.range });
    else {
      const key = current.key;
      const name = key.kind === 'literal' && typeof key.value === 'string' ? key.value : undefined;
      if (name === undefined) walk(key, locals, scope, report);
      steps.unshift({ name, range: current.range });
    }
    current = current.object;
  }
  if (current.kind !== 'variable') {
    walk(current, locals, scope, report);
    return;
  }
  if (locals.has(current.name)) return;
  switch (current.name) {
    case 'var':
      declared(current.range, 'var', 'variable', steps[0], scope.variables, report);
      return;
    case 'jwt':
      declared(current.range, 'jwt', 'jwt', steps[0], scope.jwts, report);
      return;
    case 'vcs_token':
      declared(current.range, 'vcs_token', 'vcs_token', steps[0], scope.vcsTokens, report);
      return;
    case 'action_outputs':
      actionOutput(current.range, steps, scope, report);
      return;
    default:
      report(current.range, `Unknown name "${current.name}": references start with ${roots.join(', ')}.${didYouMean(current.name, roots)}`);
  }
}

function declared(rootRange: Range, root: string, block: string, step: Step | undefined, names: ReadonlySet<string>, report: Report): void {
  if (step?.name === undefined) {
    report(rootRange, `"${root}" must be followed by the name of a ${block} block: ${root}.<name>.`);
    return;
  }
  if (!names.has(step.name)) {
    const label = block === 'variable' ? 'variable' : `${block} block`;
    report(rootRange, `Unknown ${label} "${step.name}": declare it with a ${block} "${step.name}" block.${didYouMean(step.name, names)}`);
  }
}

const outputShape = 'action_outputs.stage.<stage>.task.<task>.action.<alias>.<output>';

const partOutputShape = 'action_outputs.stage.<stage>.<pre|post>.task.<task>.action.<alias>.<output>';

function actionOutput(rootRange: Range, steps: Step[], scope: ReferenceScope, report: Report): void {
  const at = scope.at;
  if (!at) {
    report(rootRange, 'action_outputs can only be read in tasks and nested pipelines, where earlier actions have run.');
    return;
  }
  const names = steps.map((step) => step.name);
  // In a lifecycle the stage is followed by the block its task is in.
  const part = scope.stageParts ? names.splice(2, 1)[0] : undefined;
  const [stageWord, stageName, taskWord, taskName, actionWord, alias] = names;
  if (
    stageWord !== 'stage' ||
    taskWord !== 'task' ||
    actionWord !== 'action' ||
    !stageName ||
    !taskName ||
    !alias ||
    (scope.stageParts && part !== 'pre' && part !== 'post')
  ) {
    report(rootRange, `Action outputs are read as ${scope.stageParts ? partOutputShape : outputShape}.`);
    return;
  }
  const stage = scope.stages.get(stageName);
  if (!stage) {
    report(rootRange, `action_outputs names stage "${stageName}", which this template does not have.${didYouMean(stageName, scope.stages.keys())}`);
    return;
  }
  const stagePart = part as StagePart | undefined;
  const tasks = stagePart && stage.parts ? stage.parts[stagePart] : stage.tasks;
  const container = stagePart ? `the ${stagePart} block of stage "${stageName}"` : `stage "${stageName}"`;
  const task = tasks.get(taskName);
  if (!task) {
    report(rootRange, `action_outputs names task "${taskName}", which ${container} does not have.${didYouMean(taskName, tasks.keys())}`);
    return;
  }
  const taskPlace = stagePart ? `task "${taskName}" in ${container}` : `task "${taskName}" of stage "${stageName}"`;
  if (!task.has(alias)) {
    report(
      rootRange,
      `action_outputs names action "${alias}", which ${taskPlace} does not have (actions are named by their alias, or their name when they have none).${didYouMean(alias, task)}`,
    );
    return;
  }
  const current = scope.stages.get(at.stage);
  const ownTask = stageName === at.stage && stagePart === at.part && taskName === at.task;
  if (ownTask && at.ownTaskOutputs) return;
  if (stagePart) {
    // pre runs before post; stages one after another.
    const position = (index: number, of: StagePart | undefined) => index * 2 + (of === 'post' ? 1 : 0);
    if (!current || position(stage.index, stagePart) >= position(current.index, at.part)) {
      report(
        rootRange,
        `action_outputs of task "${taskName}" in the ${stagePart} block of stage "${stageName}" are not available here: outputs can only be read from earlier stages, or in a post block from its own stage's pre block${at.ownTaskOutputs ? ", or from the gate's own task" : ''}.`,
      );
    }
    return;
  }
  if (!current || stage.index >= current.index) {
    report(
      rootRange,
      `action_outputs of task "${taskName}" in stage "${stageName}" are not available here: outputs can only be read from stages that run before this one${at.ownTaskOutputs ? ", or from the gate's own task" : ''}.`,
    );
  }
}
