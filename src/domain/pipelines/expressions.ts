// The engine's one door to the expression language: action inputs, gate conditions, nested
// pipelines' template ids and variables are syntax trees (templates/hcl/ast.ts) evaluated here with
// the scope { var, action_outputs }.
//
// TEMPORARY: until the HCL evaluator (templates/hcl/evaluate.ts) lands, a small evaluator of
// literals, templates, traversals, tuples, objects, ==/!=/&&/|| and ! stands in; the real one
// replaces the body of `evaluateExpression` and nothing else changes.
import type { Expression } from '../templates/hcl/ast';
import type { TypeConstraint } from '../templates/model';

export interface ExpressionScope {
  var: Record<string, unknown>;
  action_outputs: Record<string, unknown>;
}

export class ExpressionError extends Error {}

function attribute(value: unknown, key: string | number, where: Expression): unknown {
  if (value !== null && typeof value === 'object' && Object.hasOwn(value, key)) return (value as Record<string, unknown>)[key];
  throw new ExpressionError(`line ${where.range.start.line}: no attribute ${String(key)}`);
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new ExpressionError('cannot interpolate a value that is not a string, number or bool');
}

function evaluateIn(expression: Expression, scope: Record<string, unknown>): unknown {
  switch (expression.kind) {
    case 'literal':
      return expression.value;
    case 'template':
      return expression.parts.map((part) => (typeof part === 'string' ? part : text(evaluateIn(part, scope)))).join('');
    case 'variable':
      return attribute(scope, expression.name, expression);
    case 'getAttr':
      return attribute(evaluateIn(expression.object, scope), expression.name, expression);
    case 'index': {
      const key = evaluateIn(expression.key, scope);
      return attribute(evaluateIn(expression.object, scope), typeof key === 'number' ? key : text(key), expression);
    }
    case 'tuple':
      return expression.items.map((item) => evaluateIn(item, scope));
    case 'object':
      return Object.fromEntries(
        expression.items.map(({ key, value }) => [key.kind === 'variable' ? key.name : text(evaluateIn(key, scope)), evaluateIn(value, scope)]),
      );
    case 'parens':
      return evaluateIn(expression.expression, scope);
    case 'unary':
      return expression.operator === '!' ? !evaluateIn(expression.operand, scope) : -(evaluateIn(expression.operand, scope) as number);
    case 'binary': {
      const left = evaluateIn(expression.left, scope);
      const right = evaluateIn(expression.right, scope);
      if (expression.operator === '==') return JSON.stringify(left) === JSON.stringify(right);
      if (expression.operator === '!=') return JSON.stringify(left) !== JSON.stringify(right);
      if (expression.operator === '&&') return left === true && right === true;
      if (expression.operator === '||') return left === true || right === true;
      throw new ExpressionError(`operator ${expression.operator} is not supported yet`);
    }
    default:
      throw new ExpressionError(`${expression.kind} expressions are not supported yet`);
  }
}

/** The value of `expression` in `scope`; ExpressionError when it cannot be evaluated. */
export function evaluateExpression(expression: Expression, scope: ExpressionScope): unknown {
  return evaluateIn(expression, scope as unknown as Record<string, unknown>);
}

/**
 * `value` converted to the variable type `type` (HCL's conversions: a number or bool given where a
 * string is expected becomes a string, a numeric string a number...), or ExpressionError saying
 * what is wrong at `path`. TEMPORARY like the evaluator: types.ts's convertToType replaces it.
 */
export function convertToVariableType(value: unknown, type: TypeConstraint, path: string): unknown {
  const wrong = (expected: string) =>
    new ExpressionError(`${path}: expected ${expected}, got ${value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value}`);
  if (type === 'any') return value;
  if (type === 'string') {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    throw wrong('a string');
  }
  if (type === 'number') {
    if (typeof value === 'number' && Number.isFinite(value)) return value;
    if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
    throw wrong('a number');
  }
  if (type === 'bool') {
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === 'false') return value === 'true';
    throw wrong('a bool');
  }
  if ('list' in type || 'set' in type) {
    if (!Array.isArray(value)) throw wrong('a list');
    const item = 'list' in type ? type.list : type.set;
    return value.map((entry, index) => convertToVariableType(entry, item, `${path}[${index}]`));
  }
  if ('tuple' in type) {
    if (!Array.isArray(value) || value.length !== type.tuple.length) throw wrong(`a tuple of ${type.tuple.length}`);
    return value.map((entry, index) => convertToVariableType(entry, type.tuple[index]!, `${path}[${index}]`));
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw wrong('an object');
  const entries = Object.entries(value as Record<string, unknown>);
  if ('map' in type) return Object.fromEntries(entries.map(([key, entry]) => [key, convertToVariableType(entry, type.map, `${path}.${key}`)]));
  const attributes = type.object;
  for (const [key] of entries) if (!(key in attributes)) throw new ExpressionError(`${path}.${key}: not an attribute of the object type`);
  return Object.fromEntries(
    Object.entries(attributes).map(([key, attributeType]) => {
      if (!Object.hasOwn(value, key)) throw new ExpressionError(`${path}.${key}: missing`);
      return [key, convertToVariableType((value as Record<string, unknown>)[key], attributeType, `${path}.${key}`)];
    }),
  );
}
