// HCL values as plain JSON-like JavaScript values (strings, numbers, booleans, null, arrays for
// tuples and lists, plain objects for objects and maps), and the helpers the evaluator, the
// functions and the type conversions share: type names for messages, equality, safe conversions.

export type HclObject = { [key: string]: unknown };

export function isObject(value: unknown): value is HclObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The HCL type name of a value, for error messages. */
export function typeName(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'tuple';
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'bool';
    default:
      return 'object';
  }
}

/** Own keys in HCL's iteration order (lexicographic, as cty orders object attributes and map keys). */
export function sortedKeys(value: HclObject): string[] {
  return Object.keys(value).sort(compareStrings);
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Builds an object without prototype surprises: `__proto__` is an ordinary key. */
export function objectFrom(entries: Iterable<readonly [string, unknown]>): HclObject {
  return Object.fromEntries(entries) as HclObject;
}

/** Structural equality: values of different types are never equal (HCL's `==`). */
export function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, index) => equal(item, b[index]));
  }
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && equal(a[key], b[key]));
  }
  return false;
}

/** HCL's number-to-string: integers without a fraction, others in shortest round-trip form. */
function numberToString(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`${value} is not a finite number`);
  return String(value);
}

/** Converts a primitive to a string as HCL does implicitly; null for anything else. */
export function asString(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return numberToString(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return null;
}

const decimal = /^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** A number, or a string that spells one; null when neither. */
export function asNumber(value: unknown): number | null {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && decimal.test(value.trim()) && value.trim() === value) {
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : null;
  }
  return null;
}

/** A bool, or the string "true" / "false"; null when neither. */
export function asBool(value: unknown): boolean | null {
  if (typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  return null;
}
