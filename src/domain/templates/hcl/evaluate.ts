// The pure evaluator of HCL expressions (hclsyntax spec, "Expression Evaluation"): values are
// plain JSON-like JavaScript values, nothing is executed and nothing is read outside the scope. A
// step budget and caps on string length and collection size bound the work of any expression, so
// a hostile template cannot make a Worker spin or allocate without limit.
import type { Expression, Range } from './ast';
import { evaluationError } from './errors';
import { callFunction } from './functions';
import { asBool, asNumber, asString, equal, type HclObject, isObject, objectFrom, sortedKeys, typeName } from './values';

export interface EvaluationScope {
  /** Root names: `var`, `action_outputs`, ... */
  variables: Record<string, unknown>;
}

export interface EvaluationLimits {
  /** Expression nodes evaluated and items iterated, in all. */
  maxSteps: number;
  /** Characters in any string produced. */
  maxStringLength: number;
  /** Items of any tuple, list, object or map produced. */
  maxCollectionSize: number;
}

const defaultLimits: EvaluationLimits = {
  maxSteps: 1_000_000,
  maxStringLength: 1024 * 1024,
  maxCollectionSize: 10_000,
};

/** What functions get: the limits, a way to charge steps, and a way to evaluate (for try/can). */
export interface EvaluationContext {
  limits: EvaluationLimits;
  /** Charges `count` steps; throws when the budget is spent. */
  step(count?: number): void;
  /** Throws when a string of this length would exceed the limit. */
  checkLength(length: number): void;
  checkSize(size: number): void;
  evaluate(expression: Expression): unknown;
  /** Where the current call is, for errors. */
  range: Range;
}

/**
 * The steps an evaluation may take. Each call gets its own by default; a caller that evaluates many
 * expressions for one piece of work (the engine, for one transition) shares one, so the work as a
 * whole is bounded, not each expression.
 */
export class EvaluationBudget {
  steps = 0;
  constructor(readonly limits: EvaluationLimits) {}
}

/** A budget of `maxSteps` to share between evaluate calls (the other limits stay per value). */
export function sharedEvaluationBudget(maxSteps: number): EvaluationBudget {
  return new EvaluationBudget({ ...defaultLimits, maxSteps });
}

/** Evaluates an expression against the scope; throws HclEvaluationError with the position of the fault. */
export function evaluate(expression: Expression, scope: EvaluationScope, limits?: Partial<EvaluationLimits>, budget?: EvaluationBudget): unknown {
  const evaluator = new Evaluator(scope, budget ?? new EvaluationBudget({ ...defaultLimits, ...limits }));
  return evaluator.evaluate(expression);
}

class Evaluator {
  /** Variables of enclosing `for` expressions, innermost last. */
  private readonly locals: Array<Map<string, unknown>> = [];
  private readonly splatItems: unknown[] = [];

  constructor(
    private readonly scope: EvaluationScope,
    private readonly budget: EvaluationBudget,
  ) {}

  private step(range: Range, count = 1): void {
    this.budget.steps += count;
    if (this.budget.steps > this.budget.limits.maxSteps) {
      throw evaluationError(range, `Evaluation exceeded its budget of ${this.budget.limits.maxSteps} steps`);
    }
  }

  private checkLength(range: Range, length: number): void {
    if (length > this.budget.limits.maxStringLength) {
      throw evaluationError(range, `A string would be longer than the limit of ${this.budget.limits.maxStringLength} characters`);
    }
  }

  private checkSize(range: Range, size: number): void {
    if (size > this.budget.limits.maxCollectionSize) {
      throw evaluationError(range, `A collection would have more than the limit of ${this.budget.limits.maxCollectionSize} items`);
    }
  }

  evaluate(expression: Expression): unknown {
    this.step(expression.range);
    switch (expression.kind) {
      case 'literal':
        return expression.value;
      case 'parens':
        return this.evaluate(expression.expression);
      case 'template':
        return this.template(expression);
      case 'variable':
        return this.variable(expression);
      case 'getAttr':
        return this.getAttr(this.evaluate(expression.object), expression.name, expression);
      case 'index':
        return this.index(this.evaluate(expression.object), this.evaluate(expression.key), expression);
      case 'splat':
        return this.splat(expression);
      case 'splatItem':
        return this.splatItems[this.splatItems.length - 1];
      case 'tuple': {
        this.checkSize(expression.range, expression.items.length);
        return expression.items.map((item) => this.evaluate(item));
      }
      case 'object':
        return this.object(expression);
      case 'call':
        return this.call(expression);
      case 'unary':
        return this.unary(expression);
      case 'binary':
        return this.binary(expression);
      case 'conditional': {
        const condition = this.evaluate(expression.condition);
        const chosen = asBool(condition);
        if (chosen === null) {
          throw evaluationError(expression.condition.range, `The condition must be a bool, not ${typeName(condition)}`);
        }
        return this.evaluate(chosen ? expression.then : expression.else);
      }
      case 'for':
        return this.forExpression(expression);
    }
  }

  private template(expression: Extract<Expression, { kind: 'template' }>): unknown {
    const [only] = expression.parts;
    // `"${x}"` alone is x itself, unconverted (the spec's "template wrap" rule).
    if (expression.parts.length === 1 && typeof only === 'object') return this.evaluate(only);
    let result = '';
    for (const part of expression.parts) {
      if (typeof part === 'string') {
        result += part;
      } else {
        const value = this.evaluate(part);
        if (value === null || value === undefined) {
          throw evaluationError(part.range, 'Invalid template interpolation value: the expression result is null');
        }
        const text = asString(value);
        if (text === null) {
          throw evaluationError(part.range, `Invalid template interpolation value: cannot include a ${typeName(value)} in a string (use jsonencode)`);
        }
        result += text;
      }
      this.checkLength(expression.range, result.length);
    }
    return result;
  }

  private variable(expression: Extract<Expression, { kind: 'variable' }>): unknown {
    for (let at = this.locals.length - 1; at >= 0; at--) {
      const frame = this.locals[at] as Map<string, unknown>;
      if (frame.has(expression.name)) return frame.get(expression.name);
    }
    if (!Object.hasOwn(this.scope.variables, expression.name)) {
      throw evaluationError(expression.range, `Unknown variable "${expression.name}"`);
    }
    return this.scope.variables[expression.name];
  }

  private getAttr(object: unknown, name: string, expression: Expression): unknown {
    if (object === null || object === undefined) {
      throw evaluationError(expression.range, `Attempt to get attribute "${name}" from a null value (${describePath(expression)})`);
    }
    if (!isObject(object)) {
      throw evaluationError(expression.range, `Unsupported attribute "${name}": a ${typeName(object)} has no attributes (${describePath(expression)})`);
    }
    if (!Object.hasOwn(object, name)) {
      throw evaluationError(expression.range, `Unsupported attribute: ${describePath(expression)} does not exist (no attribute "${name}")`);
    }
    return object[name];
  }

  private index(object: unknown, key: unknown, expression: Expression): unknown {
    if (object === null || object === undefined) {
      throw evaluationError(expression.range, `Attempt to index a null value (${describePath(expression)})`);
    }
    if (Array.isArray(object)) {
      const position = asNumber(key);
      if (position === null || !Number.isInteger(position)) {
        throw evaluationError(expression.range, `Invalid index: a tuple or list needs a whole number index, not ${typeName(key)}`);
      }
      if (position < 0 || position >= object.length) {
        throw evaluationError(expression.range, `Invalid index: ${describePath(expression)} is out of range (${object.length} items)`);
      }
      return object[position];
    }
    if (isObject(object)) {
      const name = asString(key);
      if (name === null) throw evaluationError(expression.range, `Invalid index: an object or map needs a string key, not ${typeName(key)}`);
      if (!Object.hasOwn(object, name)) {
        throw evaluationError(expression.range, `Invalid index: ${describePath(expression)} does not exist (no key ${JSON.stringify(name)})`);
      }
      return object[name];
    }
    throw evaluationError(expression.range, `Invalid index: a ${typeName(object)} cannot be indexed (${describePath(expression)})`);
  }

  private splat(expression: Extract<Expression, { kind: 'splat' }>): unknown {
    const source = this.evaluate(expression.source);
    if (source === null || source === undefined) return [];
    const items = Array.isArray(source) ? source : [source];
    this.step(expression.range, items.length);
    return items.map((item) => {
      this.splatItems.push(item);
      try {
        return this.evaluate(expression.each);
      } finally {
        this.splatItems.pop();
      }
    });
  }

  private object(expression: Extract<Expression, { kind: 'object' }>): unknown {
    this.checkSize(expression.range, expression.items.length);
    const entries: Array<[string, unknown]> = [];
    for (const item of expression.items) {
      const key = this.evaluate(item.key);
      const name = asString(key);
      if (name === null) throw evaluationError(item.key.range, `An object key must be a string, not ${typeName(key)}`);
      entries.push([name, this.evaluate(item.value)]);
    }
    return objectFrom(entries);
  }

  private call(expression: Extract<Expression, { kind: 'call' }>): unknown {
    const context: EvaluationContext = {
      limits: this.budget.limits,
      step: (count = 1) => this.step(expression.range, count),
      checkLength: (length) => this.checkLength(expression.range, length),
      checkSize: (size) => this.checkSize(expression.range, size),
      evaluate: (argument) => this.evaluate(argument),
      range: expression.range,
    };
    return callFunction(expression, context, () => {
      const args = expression.args.map((argument) => this.evaluate(argument));
      if (expression.expandFinal) {
        const last = args.pop();
        if (!Array.isArray(last)) {
          throw evaluationError(
            expression.range,
            `The final argument of ${expression.name}() expanded with "..." must be a list or tuple, not ${typeName(last)}`,
          );
        }
        args.push(...last);
      }
      return args;
    });
  }

  private unary(expression: Extract<Expression, { kind: 'unary' }>): unknown {
    const operand = this.evaluate(expression.operand);
    if (expression.operator === '-') {
      const value = asNumber(operand);
      if (value === null) throw evaluationError(expression.range, `Unsuitable value for unary "-": a number is required, not ${typeName(operand)}`);
      return -value;
    }
    const value = asBool(operand);
    if (value === null) throw evaluationError(expression.range, `Unsuitable value for "!": a bool is required, not ${typeName(operand)}`);
    return !value;
  }

  private binary(expression: Extract<Expression, { kind: 'binary' }>): unknown {
    const { operator } = expression;
    if (operator === '&&' || operator === '||') {
      // Short-circuits, so `var.x != null && var.x.y` is safe.
      const left = this.bool(expression.left, this.evaluate(expression.left), operator);
      if (operator === '&&' ? !left : left) return left;
      return this.bool(expression.right, this.evaluate(expression.right), operator);
    }
    const left = this.evaluate(expression.left);
    const right = this.evaluate(expression.right);
    if (operator === '==') return equal(left, right);
    if (operator === '!=') return !equal(left, right);
    const a = this.number(expression.left, left, operator);
    const b = this.number(expression.right, right, operator);
    switch (operator) {
      case '<':
        return a < b;
      case '<=':
        return a <= b;
      case '>':
        return a > b;
      case '>=':
        return a >= b;
      case '+':
        return this.finite(expression, a + b);
      case '-':
        return this.finite(expression, a - b);
      case '*':
        return this.finite(expression, a * b);
      case '/':
        if (b === 0) throw evaluationError(expression.range, 'Division by zero');
        return this.finite(expression, a / b);
      case '%':
        if (b === 0) throw evaluationError(expression.range, 'Modulo by zero');
        return this.finite(expression, a % b);
    }
  }

  private finite(expression: Expression, value: number): number {
    if (!Number.isFinite(value)) throw evaluationError(expression.range, 'The result is too large to be a number');
    return value;
  }

  private bool(operand: Expression, value: unknown, operator: string): boolean {
    const result = asBool(value);
    if (result === null) throw evaluationError(operand.range, `Unsuitable value for "${operator}": a bool is required, not ${typeName(value)}`);
    return result;
  }

  private number(operand: Expression, value: unknown, operator: string): number {
    const result = asNumber(value);
    if (result === null) throw evaluationError(operand.range, `Unsuitable value for "${operator}": a number is required, not ${typeName(value)}`);
    return result;
  }

  private forExpression(expression: Extract<Expression, { kind: 'for' }>): unknown {
    const collection = this.evaluate(expression.collection);
    let pairs: Array<[unknown, unknown]>;
    if (Array.isArray(collection)) pairs = collection.map((value, index) => [index, value]);
    else if (isObject(collection)) pairs = sortedKeys(collection).map((key) => [key, (collection as HclObject)[key]]);
    else throw evaluationError(expression.collection.range, `A for expression needs a collection (tuple, list, object or map), not ${typeName(collection)}`);
    this.step(expression.range, pairs.length);
    const tupleItems: unknown[] = [];
    const groups = new Map<string, unknown[]>();
    const values = new Map<string, unknown>();
    for (const [key, value] of pairs) {
      const frame = new Map<string, unknown>([[expression.valueVariable, value]]);
      if (expression.keyVariable !== null) frame.set(expression.keyVariable, key);
      this.locals.push(frame);
      try {
        if (expression.condition) {
          const keep = this.bool(expression.condition, this.evaluate(expression.condition), 'if');
          if (!keep) continue;
        }
        if (expression.keyExpression === null) {
          tupleItems.push(this.evaluate(expression.valueExpression));
          this.checkSize(expression.range, tupleItems.length);
          continue;
        }
        const rawKey = this.evaluate(expression.keyExpression);
        const name = asString(rawKey);
        if (name === null) throw evaluationError(expression.keyExpression.range, `An object key must be a string, not ${typeName(rawKey)}`);
        const item = this.evaluate(expression.valueExpression);
        if (expression.grouping) {
          const group = groups.get(name) ?? [];
          group.push(item);
          groups.set(name, group);
        } else {
          if (values.has(name)) {
            throw evaluationError(
              expression.keyExpression.range,
              `Duplicate object key ${JSON.stringify(name)}: add "..." after the value to group values by key`,
            );
          }
          values.set(name, item);
        }
        this.checkSize(expression.range, groups.size + values.size);
      } finally {
        this.locals.pop();
      }
    }
    if (expression.keyExpression === null) return tupleItems;
    return objectFrom(expression.grouping ? groups : values);
  }
}

/** `var.ports[1]`-style text for a traversal, for messages; `…` for parts that are not names or constants. */
function describePath(expression: Expression): string {
  switch (expression.kind) {
    case 'variable':
      return expression.name;
    case 'getAttr':
      return `${describePath(expression.object)}.${expression.name}`;
    case 'index':
      return `${describePath(expression.object)}[${expression.key.kind === 'literal' ? JSON.stringify(expression.key.value) : '…'}]`;
    case 'splatItem':
      return '*';
    default:
      return '…';
  }
}

/**
 * Every absolute traversal in an expression, as name lists: `var.x` gives ['var', 'x'],
 * `action_outputs.stage.s.task.t.action.a.out` its eight names. Index steps with constant keys are
 * included (`var.ports[0]` gives ['var', 'ports', '0']); a traversal stops at the first step that
 * is not constant. Names bound by `for` expressions are not references and are left out.
 */
export function referencedVariables(expression: Expression): string[][] {
  const found: string[][] = [];
  const visit = (node: Expression, bound: ReadonlySet<string>): void => {
    const path = traversalPath(node);
    if (path) {
      if (!bound.has(path.root)) found.push(path.names);
      for (const key of path.dynamicKeys) visit(key, bound);
      return;
    }
    switch (node.kind) {
      case 'literal':
      case 'splatItem':
      case 'variable':
        return;
      case 'parens':
        visit(node.expression, bound);
        return;
      case 'template':
        for (const part of node.parts) if (typeof part !== 'string') visit(part, bound);
        return;
      case 'getAttr':
        visit(node.object, bound);
        return;
      case 'index':
        visit(node.object, bound);
        visit(node.key, bound);
        return;
      case 'splat':
        visit(node.source, bound);
        visit(node.each, bound);
        return;
      case 'tuple':
        for (const item of node.items) visit(item, bound);
        return;
      case 'object':
        for (const item of node.items) {
          visit(item.key, bound);
          visit(item.value, bound);
        }
        return;
      case 'call':
        for (const argument of node.args) visit(argument, bound);
        return;
      case 'unary':
        visit(node.operand, bound);
        return;
      case 'binary':
        visit(node.left, bound);
        visit(node.right, bound);
        return;
      case 'conditional':
        visit(node.condition, bound);
        visit(node.then, bound);
        visit(node.else, bound);
        return;
      case 'for': {
        visit(node.collection, bound);
        const inner = new Set(bound);
        inner.add(node.valueVariable);
        if (node.keyVariable !== null) inner.add(node.keyVariable);
        if (node.keyExpression) visit(node.keyExpression, inner);
        visit(node.valueExpression, inner);
        if (node.condition) visit(node.condition, inner);
        return;
      }
    }
  };
  visit(expression, new Set());
  return found;
}

/** The names of a traversal rooted at a variable, up to its first non-constant step. */
function traversalPath(node: Expression): { root: string; names: string[]; dynamicKeys: Expression[] } | null {
  const steps: Expression[] = [];
  let current = node;
  while (current.kind === 'getAttr' || current.kind === 'index') {
    steps.push(current);
    current = current.object;
  }
  if (current.kind !== 'variable') return null;
  const names = [current.name];
  const dynamicKeys: Expression[] = [];
  let constant = true;
  for (const step of steps.reverse()) {
    if (step.kind === 'getAttr') {
      if (constant) names.push(step.name);
    } else if (step.kind === 'index') {
      if (constant && step.key.kind === 'literal' && (typeof step.key.value === 'string' || typeof step.key.value === 'number')) {
        names.push(String(step.key.value));
      } else {
        constant = false;
        dynamicKeys.push(step.key);
      }
    }
  }
  return { root: current.name, names, dynamicKeys };
}
