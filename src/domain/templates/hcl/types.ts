// Type constraints of `variable` blocks (`type = list(number)`) and HCL's safe conversions of a
// given value to them (cty's convert package, the "safe" subset): number and bool to and from
// string, tuples to lists and sets, objects to maps and objects. Errors name the path of the
// offending part, as `var.ports[1]: a number is required`.
import type { TypeConstraint } from '../model';
import type { Expression } from './ast';
import { HclEvaluationError } from './errors';
import { asBool, asNumber, asString, equal, isObject, objectFrom, sortedKeys, typeName } from './values';

const primitives = new Set(['string', 'number', 'bool', 'any']);

function typeError(expression: Expression, message: string): HclEvaluationError {
  return new HclEvaluationError(message, expression.range.start.line, expression.range.start.column);
}

/** Reads a type constraint expression; throws HclEvaluationError at the first unknown part. */
export function parseTypeConstraint(expression: Expression): TypeConstraint {
  if (expression.kind === 'variable') {
    if (primitives.has(expression.name)) return expression.name as TypeConstraint;
    throw typeError(
      expression,
      `Invalid type "${expression.name}": the types are string, number, bool, any, list(T), set(T), map(T), tuple([...]) and object({...})`,
    );
  }
  if (expression.kind === 'parens') return parseTypeConstraint(expression.expression);
  if (expression.kind !== 'call') {
    throw typeError(expression, 'Invalid type: expected a type such as string, list(number) or object({ name = string })');
  }
  const [argument] = expression.args;
  if (expression.args.length !== 1 || !argument || expression.expandFinal) {
    throw typeError(expression, `Invalid type: ${expression.name}(...) takes exactly one argument`);
  }
  switch (expression.name) {
    case 'list':
    case 'set':
    case 'map': {
      const element = parseTypeConstraint(argument);
      return expression.name === 'list' ? { list: element } : expression.name === 'set' ? { set: element } : { map: element };
    }
    case 'tuple':
      if (argument.kind !== 'tuple') throw typeError(argument, 'Invalid type: tuple(...) takes a list of types, as tuple([string, number])');
      return { tuple: argument.items.map(parseTypeConstraint) };
    case 'object': {
      if (argument.kind !== 'object') throw typeError(argument, 'Invalid type: object(...) takes attribute types, as object({ name = string })');
      const attributes: Record<string, TypeConstraint> = {};
      for (const item of argument.items) {
        if (item.key.kind !== 'literal' || typeof item.key.value !== 'string') {
          throw typeError(item.key, 'Invalid type: object attribute names must be plain names');
        }
        if (Object.hasOwn(attributes, item.key.value)) throw typeError(item.key, `Invalid type: attribute "${item.key.value}" is given twice`);
        attributes[item.key.value] = parseTypeConstraint(item.value);
      }
      return { object: objectFrom(Object.entries(attributes)) as Record<string, TypeConstraint> };
    }
    default:
      throw typeError(expression, `Invalid type constructor "${expression.name}": the constructors are list, set, map, tuple and object`);
  }
}

/** The error of a failed conversion: `path` (as `var.ports[1]`) and what was required. */
export class HclConversionError extends Error {
  constructor(
    readonly path: string,
    readonly detail: string,
  ) {
    super(`${path}: ${detail}`);
    this.name = 'HclConversionError';
  }
}

/**
 * Converts a value to a type constraint as HCL does for variable values; throws HclConversionError.
 * For a sensitive value (`sensitive: true`) the error names only types and positions, never a
 * string or map key of the value.
 */
export function convertToType(value: unknown, type: TypeConstraint, path: string, sensitive = false): unknown {
  const describeValue = (given: unknown) => (sensitive ? typeName(given) : describeShown(given));
  if (value === null || value === undefined) return null;
  if (type === 'any') return value;
  if (type === 'string') {
    const result = asString(value);
    if (result === null) throw new HclConversionError(path, `a string is required, not ${typeName(value)}`);
    return result;
  }
  if (type === 'number') {
    const result = asNumber(value);
    if (result === null) throw new HclConversionError(path, `a number is required, not ${describeValue(value)}`);
    return result;
  }
  if (type === 'bool') {
    const result = asBool(value);
    if (result === null) throw new HclConversionError(path, `a bool is required, not ${describeValue(value)}`);
    return result;
  }
  if ('list' in type || 'set' in type) {
    const element = 'list' in type ? type.list : type.set;
    if (!Array.isArray(value)) throw new HclConversionError(path, `a ${'list' in type ? 'list' : 'set'} is required, not ${typeName(value)}`);
    const items = value.map((item, index) => convertToType(item, element, `${path}[${index}]`, sensitive));
    if ('list' in type) return items;
    // A set holds each value once, in a stable order.
    const unique: unknown[] = [];
    for (const item of items) if (!unique.some((seen) => equal(seen, item))) unique.push(item);
    return unique;
  }
  if ('map' in type) {
    if (!isObject(value)) throw new HclConversionError(path, `a map is required, not ${typeName(value)}`);
    return objectFrom(
      sortedKeys(value).map((key) => [key, convertToType(value[key], type.map, `${path}[${sensitive ? '…' : JSON.stringify(key)}]`, sensitive)]),
    );
  }
  if ('tuple' in type) {
    if (!Array.isArray(value)) throw new HclConversionError(path, `a tuple is required, not ${typeName(value)}`);
    if (value.length !== type.tuple.length) {
      throw new HclConversionError(path, `a tuple of ${type.tuple.length} elements is required, not ${value.length}`);
    }
    return value.map((item, index) => convertToType(item, type.tuple[index] as TypeConstraint, `${path}[${index}]`, sensitive));
  }
  const attributes = type.object;
  if (!isObject(value)) throw new HclConversionError(path, `an object is required, not ${typeName(value)}`);
  const entries: Array<[string, unknown]> = [];
  for (const key of sortedKeys(attributes)) {
    if (!Object.hasOwn(value, key)) throw new HclConversionError(path, `attribute "${key}" is required`);
    entries.push([key, convertToType(value[key], attributes[key] as TypeConstraint, `${path}.${key}`, sensitive)]);
  }
  // Extra attributes are dropped, as cty does when converting to an object type.
  return objectFrom(entries);
}

function describeShown(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value) : typeName(value);
}
