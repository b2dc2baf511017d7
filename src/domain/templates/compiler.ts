// The parts of the HCL compiler that pipeline templates (compile.ts) and release lifecycles
// (lifecycles/compile.ts) share: the Compiler that collects problems with their line and column,
// the top-level blocks both accept (variable, plugin, plugin_requirements, jwt, volume, vcs_token),
// tasks with their actions and gates, stage_order, and the deferred reference checks.
import type { Attribute, Block, Body, Expression, Range } from './hcl/ast';
import { HclSyntaxError } from './hcl/errors';
import { parseHcl, parseHclExpression } from './hcl/parser';
import { convertToType, parseTypeConstraint } from './hcl/types';
import { functionNames } from './hcl/functions';
import type {
  NodeWhen,
  TemplateAction,
  TemplateGate,
  TemplateJwt,
  TemplateMountPoint,
  TemplatePlugin,
  TemplatePluginRequirement,
  TemplateProblem,
  TemplateTask,
  TemplateVariable,
  TemplateVcsToken,
  TemplateVolume,
} from './model';
import { parsePrn } from '../prn';
import { checkReferences, type ReferenceScope, type StagePart } from './references';
import { durationSeconds, objectKey, staticValue } from './static-values';
import { didYouMean } from './suggest';

export type Report = (range: Range, message: string) => void;

interface Shape {
  attributes: readonly string[];
  blocks: readonly string[];
  /** Any attribute may be given (plugin settings, action inputs). */
  openAttributes?: boolean;
}

interface Parts {
  attributes: Map<string, Attribute>;
  blocks: Block[];
}

/** A check that needs the whole template's outline (stage order, aliases) before it can run. */
interface DeferredReference {
  expression: Expression;
  at?: ReferenceScope['at'];
  report: Report;
}

/** The top-level blocks pipeline templates and release lifecycles both have. */
export const sharedTopLevelBlocks = ['variable', 'plugin', 'plugin_requirements', 'jwt', 'volume', 'vcs_token'] as const;
const identifier = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const knownFunctions: ReadonlySet<string> = new Set(functionNames);

export class Compiler {
  readonly problems: TemplateProblem[] = [];
  readonly deferred: DeferredReference[] = [];
  readonly approvalRulePrns = new Set<string>();

  readonly report: Report = (range, message) => {
    this.problems.push({ message, line: range.start.line, column: range.start.column });
  };

  /** The body's attributes by name and its blocks, reporting what the shape does not allow. */
  parts(body: Body, where: string, shape: Shape): Parts {
    const attributes = new Map<string, Attribute>();
    const blocks: Block[] = [];
    for (const item of body.items) {
      if (item.type === 'attribute') {
        if (shape.openAttributes || shape.attributes.includes(item.name)) attributes.set(item.name, item);
        else if (shape.blocks.includes(item.name)) this.report(item.nameRange, `"${item.name}" is a block, not an attribute: write ${item.name} { ... }.`);
        else this.report(item.nameRange, `Unknown attribute "${item.name}" in ${where}.${didYouMean(item.name, shape.attributes)}${allowed(shape.attributes)}`);
      } else if (shape.blocks.includes(item.blockType)) blocks.push(item);
      else if (shape.attributes.includes(item.blockType)) {
        this.report(item.range, `"${item.blockType}" is an attribute, not a block: write ${item.blockType} = ...`);
      } else {
        this.report(item.range, `Unknown block "${item.blockType}" in ${where}.${didYouMean(item.blockType, shape.blocks)}${allowed(shape.blocks, 'blocks')}`);
      }
    }
    return { attributes, blocks };
  }

  /** The block's single name label, or undefined (reported) when it has none or more. */
  label(block: Block, what = 'name'): string | undefined {
    if (block.labels.length !== 1) {
      this.report(block.range, `A ${block.blockType} block needs exactly one label, its ${what}: ${block.blockType} "<${what}>" { ... }.`);
      return undefined;
    }
    const label = block.labels[0]!;
    if (!identifier.test(label)) {
      this.report(
        block.labelRanges[0] ?? block.range,
        `${block.blockType} "${label}": a name starts with a letter or underscore and holds letters, digits, underscores and hyphens.`,
      );
      return undefined;
    }
    return label;
  }

  noLabels(block: Block): void {
    if (block.labels.length > 0) this.report(block.labelRanges[0] ?? block.range, `A ${block.blockType} block takes no labels: ${block.blockType} { ... }.`);
  }

  constant(attribute: Attribute, kind: string): unknown {
    const value = staticValue(attribute.expression);
    if (!value.ok) {
      this.report(attribute.expression.range, `${attribute.name} must be ${kind} written out (it cannot refer to variables or call functions).`);
      return undefined;
    }
    return value.value;
  }

  string(attribute: Attribute | undefined): string | undefined {
    if (!attribute) return undefined;
    const value = this.constant(attribute, 'a string');
    if (value === undefined) return undefined;
    if (typeof value !== 'string') {
      this.report(attribute.expression.range, `${attribute.name} must be a string.`);
      return undefined;
    }
    return value;
  }

  stringList(attribute: Attribute | undefined): string[] | undefined {
    if (!attribute) return undefined;
    const value = this.constant(attribute, 'a list of strings');
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
      this.report(attribute.expression.range, `${attribute.name} must be a list of strings, e.g. ["a", "b"].`);
      return undefined;
    }
    return value as string[];
  }

  oneOf<T extends string>(attribute: Attribute | undefined, choices: readonly T[], fallback: T): T {
    const value = this.string(attribute);
    if (value === undefined) return fallback;
    if (!(choices as readonly string[]).includes(value)) {
      this.report(attribute!.expression.range, `${attribute!.name} must be ${choices.map((choice) => `"${choice}"`).join(' or ')}, not "${value}".`);
      return fallback;
    }
    return value as T;
  }

  duration(attribute: Attribute | undefined): number | undefined {
    const value = this.string(attribute);
    if (value === undefined) return undefined;
    const seconds = durationSeconds(value);
    if (seconds === undefined)
      this.report(attribute!.expression.range, `${attribute!.name} must be a duration such as "30s", "2m", "1h" or "1h30m", not "${value}".`);
    return seconds;
  }

  approvalRules(attribute: Attribute | undefined): string[] {
    const prns = this.stringList(attribute) ?? [];
    for (const prn of prns) {
      const parsed = parsePrn(prn);
      if (parsed?.type !== 'approval_rule' || parsed.path.length < 2 || parsed.path.length > 3) {
        this.report(
          attribute!.expression.range,
          `approval_rules: "${prn}" is not an approval rule PRN (prn:approval_rule:<organization>/<name> or prn:approval_rule:<organization>/<project>/<name>).`,
        );
      } else this.approvalRulePrns.add(prn);
    }
    return [...new Set(prns)];
  }

  /** Reference checks wait until every stage, task and alias is known. */
  references(expression: Expression, at?: ReferenceScope['at'], report: Report = this.report): void {
    this.deferred.push({ expression, at, report });
  }

  /** Runs the deferred reference checks against the finished outline. */
  checkReferences(scope: Omit<ReferenceScope, 'at' | 'functions'>): void {
    for (const { expression, at, report } of this.deferred) checkReferences(expression, { ...scope, functions: knownFunctions, at }, report);
  }
}

function allowed(names: readonly string[], kind = 'attributes'): string {
  return names.length === 0 ? ` No ${kind} are allowed here.` : ` Allowed ${kind}: ${names.join(', ')}.`;
}

/** The source's syntax tree, or its syntax problems. */
export function parseSource(source: string): { ok: true; body: Body } | { ok: false; problems: TemplateProblem[] } {
  try {
    return { ok: true, body: parseHcl(source) };
  } catch (error) {
    if (error instanceof HclSyntaxError) return { ok: false, problems: error.problems.map(({ message, line, column }) => ({ message, line, column })) };
    throw error;
  }
}

export interface SharedBlocks {
  variables: TemplateVariable[];
  plugins: TemplatePlugin[];
  pluginRequirements: TemplatePluginRequirement[];
  jwts: TemplateJwt[];
  volumes: TemplateVolume[];
  vcsTokens: TemplateVcsToken[];
}

/** The top-level blocks of sharedTopLevelBlocks, each checked and unique by name. */
export function compileSharedBlocks(compiler: Compiler, byType: (type: string) => Block[]): SharedBlocks {
  const variables = compileVariables(compiler, byType('variable'));
  const plugins = byType('plugin').flatMap((block) => {
    const name = compiler.label(block, 'plugin name');
    if (name === undefined) return [];
    const parts = compiler.parts(block.body, `plugin "${name}"`, { attributes: [], blocks: [], openAttributes: true });
    for (const attribute of parts.attributes.values()) compiler.references(attribute.expression);
    return [{ name, attributes: Object.fromEntries([...parts.attributes].map(([key, attribute]) => [key, attribute.expression])) }];
  });
  const pluginRequirements = byType('plugin_requirements').flatMap((block) => compilePluginRequirements(compiler, block));
  const jwts = byType('jwt').flatMap((block) => {
    const name = compiler.label(block);
    const parts = compiler.parts(block.body, `jwt "${name ?? ''}"`, { attributes: ['audience'], blocks: [] });
    const audience = compiler.string(parts.attributes.get('audience'));
    if (!parts.attributes.has('audience')) compiler.report(block.range, `jwt "${name ?? ''}" needs an audience: audience = "<who the token is for>".`);
    return name !== undefined && audience !== undefined ? [{ name, audience }] : [];
  });
  const volumes = byType('volume').flatMap((block) => compileVolume(compiler, block));
  const vcsTokens = byType('vcs_token').flatMap((block) => {
    const name = compiler.label(block);
    const parts = compiler.parts(block.body, `vcs_token "${name ?? ''}"`, { attributes: ['provider_id'], blocks: [] });
    const providerId = compiler.string(parts.attributes.get('provider_id'));
    if (!parts.attributes.has('provider_id')) compiler.report(block.range, `vcs_token "${name ?? ''}" needs provider_id: the PRN or id of a VCS provider.`);
    return name !== undefined && providerId !== undefined ? [{ name, providerId }] : [];
  });
  unique(compiler, byType('variable'), 'variable');
  unique(compiler, byType('plugin'), 'plugin');
  unique(compiler, byType('jwt'), 'jwt');
  unique(compiler, byType('volume'), 'volume');
  unique(compiler, byType('vcs_token'), 'vcs_token');
  return { variables, plugins, pluginRequirements, jwts, volumes, vcsTokens };
}

/** What tasks may use: `exec` and every plugin declared or required, and the volumes declared. */
export function declaredFor(shared: SharedBlocks): Declared {
  return {
    plugins: new Set(['exec', ...shared.plugins.map((plugin) => plugin.name), ...shared.pluginRequirements.map((requirement) => requirement.name)]),
    volumes: new Set(shared.volumes.map((volume) => volume.name)),
  };
}

/** The names and aliases of tasks, as references see them. */
export function taskOutline(tasks: readonly TemplateTask[]): Map<string, Set<string>> {
  return new Map(tasks.map((task) => [task.name, new Set(task.actions.map((action) => action.alias))]));
}

export function inSourceOrder(problems: TemplateProblem[]): TemplateProblem[] {
  return problems.toSorted((a, b) => a.line - b.line || a.column - b.column);
}

export function unique(compiler: Compiler, blocks: Block[], what: string): void {
  const seen = new Map<string, Block>();
  for (const block of blocks) {
    const name = block.labels[0];
    if (name === undefined || block.labels.length !== 1) continue;
    const first = seen.get(name);
    if (first) compiler.report(block.range, `Duplicate ${what} "${name}": it is already declared at line ${first.range.start.line}.`);
    else seen.set(name, block);
  }
}

function compileVariables(compiler: Compiler, blocks: Block[]): TemplateVariable[] {
  return blocks.flatMap((block) => {
    const name = compiler.label(block);
    const where = `variable "${name ?? ''}"`;
    const { attributes } = compiler.parts(block.body, where, { attributes: ['type', 'default', 'sensitive', 'description'], blocks: [] });
    const typeAttribute = attributes.get('type');
    let type: TemplateVariable['type'] = 'any';
    let typeKnown = true;
    if (typeAttribute) {
      try {
        type = parseTypeConstraint(typeAttribute.expression);
      } catch (error) {
        typeKnown = false;
        compiler.report(typeAttribute.expression.range, `${where}: ${problemText(error)}`);
      }
    }
    const sensitiveValue = attributes.get('sensitive') ? compiler.constant(attributes.get('sensitive')!, 'true or false') : false;
    if (sensitiveValue !== undefined && typeof sensitiveValue !== 'boolean')
      compiler.report(attributes.get('sensitive')!.expression.range, 'sensitive must be true or false.');
    const description = compiler.string(attributes.get('description')) ?? null;
    const defaultAttribute = attributes.get('default');
    let value: unknown;
    if (defaultAttribute) {
      value = compiler.constant(defaultAttribute, 'a value');
      if (value !== undefined && typeKnown) {
        try {
          value = convertToType(value, type, 'default');
        } catch (error) {
          compiler.report(
            defaultAttribute.expression.range,
            `${where}: the default does not fit type ${typeText(typeAttribute)}: ${error instanceof Error ? error.message : String(error)}.`,
          );
        }
      }
    }
    if (name === undefined) return [];
    const variable: TemplateVariable = { name, type, hasDefault: defaultAttribute !== undefined, sensitive: sensitiveValue === true, description };
    if (defaultAttribute) variable.default = value;
    return [variable];
  });
}

function typeText(attribute: Attribute | undefined): string {
  const expression = attribute?.expression;
  if (expression?.kind === 'variable') return expression.name;
  if (expression?.kind === 'call') return `${expression.name}(...)`;
  return 'any';
}

function problemText(error: unknown): string {
  if (error && typeof error === 'object' && 'detail' in error && typeof error.detail === 'string') return error.detail;
  if (error instanceof Error) return error.message;
  throw error;
}

function compilePluginRequirements(compiler: Compiler, block: Block) {
  compiler.noLabels(block);
  const { attributes } = compiler.parts(block.body, 'plugin_requirements', { attributes: [], blocks: [], openAttributes: true });
  return [...attributes.values()].flatMap((attribute) => {
    const value = compiler.constant(attribute, 'an object { source = "...", version = "..." }');
    if (value === undefined) return [];
    const requirement = value as { source?: unknown; version?: unknown };
    const extra =
      typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.keys(value).filter((key) => key !== 'source' && key !== 'version') : [];
    if (typeof requirement.source !== 'string' || (requirement.version !== undefined && typeof requirement.version !== 'string') || extra.length > 0) {
      compiler.report(
        attribute.expression.range,
        `plugin_requirements: ${attribute.name} must be { source = "<where the plugin comes from>", version = "<version constraint>" } (version optional).`,
      );
      return [];
    }
    return [{ name: attribute.name, source: requirement.source, version: (requirement.version as string | undefined) ?? null }];
  });
}

function compileVolume(compiler: Compiler, block: Block) {
  const name = compiler.label(block);
  const where = `volume "${name ?? ''}"`;
  const { attributes, blocks } = compiler.parts(block.body, where, { attributes: ['type'], blocks: ['vcs_options'] });
  const type = compiler.oneOf(attributes.get('type'), ['vcs'], 'vcs');
  if (!attributes.has('type')) compiler.report(block.range, `${where} needs a type: type = "vcs".`);
  const options = blocks[0];
  for (const extra of blocks.slice(1)) compiler.report(extra.range, `${where} has at most one vcs_options block.`);
  const values: Record<string, Expression> = {};
  if (!options) compiler.report(block.range, `${where} needs a vcs_options block: vcs_options { provider_id = "...", repository_path = "..." }.`);
  else {
    compiler.noLabels(options);
    const parts = compiler.parts(options.body, `${where} vcs_options`, { attributes: ['provider_id', 'repository_path', 'ref'], blocks: [] });
    for (const required of ['provider_id', 'repository_path']) {
      if (!parts.attributes.has(required)) compiler.report(options.range, `${where} vcs_options needs ${required}.`);
    }
    for (const [key, attribute] of parts.attributes) {
      values[key] = attribute.expression;
      compiler.references(attribute.expression);
    }
  }
  return name === undefined ? [] : [{ name, type, attributes: values }];
}

export interface Declared {
  plugins: ReadonlySet<string>;
  volumes: ReadonlySet<string>;
}

/** Where a task is: its stage, and for a release lifecycle the `pre` or `post` block. */
export interface TaskPlace {
  stage: string;
  part?: StagePart;
}

export function compileTask(compiler: Compiler, block: Block, place: TaskPlace, declared: Declared): TemplateTask[] {
  const name = compiler.label(block);
  const { stage, part } = place;
  const where = part === undefined ? `task "${name ?? ''}" of stage "${stage}"` : `task "${name ?? ''}" in ${part} of stage "${stage}"`;
  const { attributes, blocks } = compiler.parts(block.body, where, {
    attributes: ['when', 'approval_rules', 'agent_tags', 'interval', 'attempts', 'success_condition', 'max_duration'],
    blocks: ['action', 'mount_point'],
  });
  const when = compiler.oneOf<NodeWhen>(attributes.get('when'), ['auto', 'manual'], 'auto');
  const approvalRules = compiler.approvalRules(attributes.get('approval_rules'));
  const agentTags = compiler.stringList(attributes.get('agent_tags')) ?? null;
  const maxDurationSeconds = compiler.duration(attributes.get('max_duration')) ?? null;
  const at = { stage, part, task: name, ownTaskOutputs: false };

  const mountPoints: TemplateMountPoint[] = blocks
    .filter((child) => child.blockType === 'mount_point')
    .flatMap((child) => {
      compiler.noLabels(child);
      const parts = compiler.parts(child.body, `mount_point of ${where}`, { attributes: ['volume', 'path'], blocks: [] });
      const volume = compiler.string(parts.attributes.get('volume'));
      if (!parts.attributes.has('volume')) compiler.report(child.range, `mount_point of ${where} needs volume: the name of a volume block.`);
      if (volume !== undefined && !declared.volumes.has(volume)) {
        compiler.report(
          parts.attributes.get('volume')!.expression.range,
          `mount_point: no volume "${volume}" is declared; add a volume "${volume}" block.${didYouMean(volume, declared.volumes)}`,
        );
      }
      const path = compiler.string(parts.attributes.get('path')) ?? null;
      return volume === undefined ? [] : [{ volume, path }];
    });

  const actions: TemplateAction[] = blocks
    .filter((child) => child.blockType === 'action')
    .flatMap((child) => compileAction(compiler, child, where, declared, at));
  const aliases = new Map<string, TemplateAction>();
  const actionBlocks = blocks.filter((child) => child.blockType === 'action');
  actions.forEach((action, index) => {
    if (aliases.has(action.alias)) {
      compiler.report(actionBlocks[index]?.range ?? block.range, `Two actions of ${where} are named "${action.alias}": give one of them a different alias.`);
    } else aliases.set(action.alias, action);
  });

  const gate = compileGate(compiler, block, attributes, where, { stage, part, task: name, ownTaskOutputs: true });
  if (name === undefined) return [];
  return [{ name, when, approvalRules, agentTags, mountPoints, gate, maxDurationSeconds, actions }];
}

function compileAction(compiler: Compiler, block: Block, where: string, declared: Declared, at: ReferenceScope['at']): TemplateAction[] {
  if (block.labels.length !== 1) {
    compiler.report(block.range, 'An action block needs exactly one label, "<plugin>_<action>": action "exec_command" { ... }.');
    return [];
  }
  const name = block.labels[0]!;
  const split = name.indexOf('_');
  if (split <= 0 || split === name.length - 1) {
    compiler.report(block.labelRanges[0] ?? block.range, `action "${name}": an action is named "<plugin>_<action>", e.g. "exec_command".`);
    return [];
  }
  const pluginName = name.slice(0, split);
  const actionName = name.slice(split + 1);
  if (!declared.plugins.has(pluginName)) {
    compiler.report(
      block.labelRanges[0] ?? block.range,
      `action "${name}" uses plugin "${pluginName}", which is not declared: add plugin "${pluginName}" {} (and plugin_requirements for an external plugin).${didYouMean(pluginName, declared.plugins)}`,
    );
  }
  const { attributes } = compiler.parts(block.body, `action "${name}" of ${where}`, { attributes: [], blocks: [], openAttributes: true });
  const aliasAttribute = attributes.get('alias');
  const alias = aliasAttribute ? compiler.string(aliasAttribute) : name;
  if (aliasAttribute && alias !== undefined && !identifier.test(alias)) {
    compiler.report(
      aliasAttribute.expression.range,
      `alias "${alias}": an alias starts with a letter or underscore and holds letters, digits, underscores and hyphens.`,
    );
  }
  const inputs: Record<string, Expression> = {};
  for (const [key, attribute] of attributes) {
    if (key === 'alias') continue;
    inputs[key] = attribute.expression;
    compiler.references(attribute.expression, at);
  }
  return alias === undefined ? [] : [{ name, pluginName, actionName, alias, inputs }];
}

function compileGate(compiler: Compiler, block: Block, attributes: Map<string, Attribute>, where: string, at: ReferenceScope['at']): TemplateGate | null {
  const interval = attributes.get('interval');
  const attempts = attributes.get('attempts');
  const condition = attributes.get('success_condition');
  if (!interval && !attempts && !condition) return null;
  for (const [attribute, name] of [
    [interval, 'interval = "30s"'],
    [attempts, 'attempts = 3'],
    [condition, 'success_condition = "<expression>"'],
  ] as const) {
    if (!attribute) compiler.report(block.range, `${where} is a gate (it sets ${[interval, attempts, condition].find(Boolean)!.name}) and also needs ${name}.`);
  }
  const intervalSeconds = compiler.duration(interval);
  let attemptCount: number | undefined;
  if (attempts) {
    const value = compiler.constant(attempts, 'a whole number');
    if (value !== undefined && (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > 1000)) {
      compiler.report(attempts.expression.range, 'attempts must be a whole number from 1 to 1000.');
    } else if (typeof value === 'number') attemptCount = value;
  }
  const source = compiler.string(condition);
  let successCondition: Expression | undefined;
  if (source !== undefined) {
    const origin = condition!.expression.range.start;
    // Positions inside the condition are relative to its string; point at them in the file (past the opening quote).
    const shifted: Report = (range, message) =>
      compiler.report(
        {
          start: {
            line: origin.line + range.start.line - 1,
            column: range.start.line === 1 ? origin.column + range.start.column : range.start.column,
            offset: origin.offset + 1 + range.start.offset,
          },
          end: range.end,
        },
        `success_condition: ${message}`,
      );
    try {
      successCondition = parseHclExpression(source);
      compiler.references(successCondition, at, shifted);
    } catch (error) {
      if (!(error instanceof HclSyntaxError)) throw error;
      for (const problem of error.problems) {
        shifted(
          { start: { line: problem.line, column: problem.column, offset: 0 }, end: { line: problem.line, column: problem.column, offset: 0 } },
          problem.message,
        );
      }
    }
  }
  if (intervalSeconds === undefined || attemptCount === undefined || source === undefined || successCondition === undefined) return null;
  return { intervalSeconds, attempts: attemptCount, successConditionSource: source, successCondition };
}

/** Stages in `stage_order` when given (naming every stage exactly once), in file order otherwise. */
export function orderStages<T extends { name: string }>(compiler: Compiler, stages: T[], attribute: Attribute | undefined): T[] {
  if (!attribute) return stages;
  const expression = attribute.expression;
  if (expression.kind !== 'tuple') {
    compiler.report(expression.range, 'stage_order must be a list of stage names: stage_order = ["build", "deploy"].');
    return stages;
  }
  const byName = new Map(stages.map((stage) => [stage.name, stage]));
  const ordered: T[] = [];
  const seen = new Set<string>();
  for (const item of expression.items) {
    const name = objectKey(item);
    if (name === undefined) {
      compiler.report(item.range, 'stage_order: each entry must be a stage name.');
      continue;
    }
    const stage = byName.get(name);
    if (!stage) compiler.report(item.range, `stage_order names stage "${name}", which this template does not have.${didYouMean(name, byName.keys())}`);
    else if (seen.has(name)) compiler.report(item.range, `stage_order names stage "${name}" more than once.`);
    else {
      seen.add(name);
      ordered.push(stage);
    }
  }
  const missing = stages.filter((stage) => !seen.has(stage.name)).map((stage) => `"${stage.name}"`);
  if (missing.length > 0) compiler.report(expression.range, `stage_order must name every stage once; it leaves out ${missing.join(', ')}.`);
  return missing.length > 0 ? stages : ordered;
}
