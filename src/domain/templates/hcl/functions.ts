// The functions templates may call: pure, bounded versions of Terraform's functions of the same
// names. Nothing here reads the clock, randomness, files or the network (no uuid, timestamp, file),
// and replace is literal only (no regular expressions), so every call is bounded by its inputs and
// the evaluation limits.
import { sha256 as sha256Digest } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Expression } from './ast';
import type { EvaluationContext } from './evaluate';
import { evaluationError, HclEvaluationError } from './errors';
import { asBool, asNumber, asString, compareStrings, equal, type HclObject, isObject, objectFrom, sortedKeys, typeName } from './values';

type Implementation = (args: unknown[], context: EvaluationContext, fail: (message: string) => never) => unknown;

interface FunctionSpec {
  /** Fixed parameters; `variadic` allows more. */
  min: number;
  max: number;
  run: Implementation;
}

/** Calls a function by name; `try` and `can` receive their arguments unevaluated. */
export function callFunction(expression: Extract<Expression, { kind: 'call' }>, context: EvaluationContext, evaluateArgs: () => unknown[]): unknown {
  const fail = (message: string): never => {
    throw evaluationError(expression.range, `${expression.name}(): ${message}`);
  };
  if (expression.name === 'try' || expression.name === 'can') {
    if (expression.expandFinal) fail('arguments cannot be expanded with "..."');
    if (expression.name === 'can' && expression.args.length !== 1) fail(`takes 1 argument, ${expression.args.length} given`);
    if (expression.args.length === 0) fail('takes at least 1 argument');
    for (const argument of expression.args) {
      try {
        const value = context.evaluate(argument);
        return expression.name === 'can' ? true : value;
      } catch (error) {
        // Budget exhaustion is not a failed attempt: it must stop the whole evaluation.
        if (!(error instanceof HclEvaluationError) || error.detail.startsWith('Evaluation exceeded')) throw error;
      }
    }
    if (expression.name === 'can') return false;
    return fail('no argument could be evaluated without an error');
  }
  const spec = Object.hasOwn(functions, expression.name) ? functions[expression.name] : undefined;
  if (!spec) {
    throw evaluationError(expression.range, `Call to unknown function "${expression.name}"`);
  }
  const args = evaluateArgs();
  if (args.length < spec.min || args.length > spec.max) {
    const expected = spec.min === spec.max ? `${spec.min}` : spec.max === Number.POSITIVE_INFINITY ? `at least ${spec.min}` : `${spec.min} to ${spec.max}`;
    fail(`takes ${expected} argument${expected === '1' ? '' : 's'}, ${args.length} given`);
  }
  const result = spec.run(args, context, fail);
  if (typeof result === 'string') context.checkLength(result.length);
  else if (Array.isArray(result)) context.checkSize(result.length);
  else if (isObject(result)) context.checkSize(Object.keys(result).length);
  return result;
}

// --- argument helpers ---------------------------------------------------------------------------

function str(value: unknown, fail: (message: string) => never, what = 'argument'): string {
  const result = asString(value);
  if (result === null) fail(`the ${what} must be a string, not ${typeName(value)}`);
  return result as string;
}

function num(value: unknown, fail: (message: string) => never, what = 'argument'): number {
  const result = asNumber(value);
  if (result === null) fail(`the ${what} must be a number, not ${typeName(value)}`);
  return result as number;
}

function int(value: unknown, fail: (message: string) => never, what = 'argument'): number {
  const result = num(value, fail, what);
  if (!Number.isInteger(result)) fail(`the ${what} must be a whole number`);
  return result;
}

function list(value: unknown, fail: (message: string) => never, what = 'argument'): unknown[] {
  if (!Array.isArray(value)) fail(`the ${what} must be a list or tuple, not ${typeName(value)}`);
  return value as unknown[];
}

function obj(value: unknown, fail: (message: string) => never, what = 'argument'): HclObject {
  if (!isObject(value)) fail(`the ${what} must be a map or object, not ${typeName(value)}`);
  return value as HclObject;
}

/** Joins strings, refusing before building anything longer than the limit. */
function joinBounded(parts: string[], separator: string, context: EvaluationContext): string {
  let length = 0;
  for (const part of parts) length += part.length + separator.length;
  context.step(parts.length);
  context.checkLength(length);
  return parts.join(separator);
}

// --- JSON ---------------------------------------------------------------------------------------

/** jsonencode as HCL writes it: keys sorted, `<`, `>`, `&`, U+2028 and U+2029 escaped; bounded. */
function jsonEncode(value: unknown, context: EvaluationContext, fail: (message: string) => never): string {
  const out: string[] = [];
  let length = 0;
  const push = (text: string): void => {
    length += text.length;
    context.checkLength(length);
    out.push(text);
  };
  const write = (item: unknown, depth: number): void => {
    context.step();
    if (depth > 256) fail('the value is nested too deeply');
    if (item === null || item === undefined) push('null');
    else if (typeof item === 'string') push(quoteJson(item));
    else if (typeof item === 'number') push(Number.isFinite(item) ? String(item) : fail('the number is not finite'));
    else if (typeof item === 'boolean') push(item ? 'true' : 'false');
    else if (Array.isArray(item)) {
      push('[');
      item.forEach((element, index) => {
        if (index > 0) push(',');
        write(element, depth + 1);
      });
      push(']');
    } else if (isObject(item)) {
      push('{');
      sortedKeys(item).forEach((key, index) => {
        if (index > 0) push(',');
        push(`${quoteJson(key)}:`);
        write(item[key], depth + 1);
      });
      push('}');
    } else fail(`cannot encode a ${typeof item}`);
  };
  write(value, 0);
  return out.join('');
}

function quoteJson(text: string): string {
  return JSON.stringify(text).replace(/[<>&\u2028\u2029]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function jsonDecode(text: string, context: EvaluationContext, fail: (message: string) => never): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return fail(`invalid JSON: ${(error as Error).message}`);
  }
  // Parsing is bounded by the input length; the result must still respect the collection cap.
  const check = (item: unknown, depth: number): void => {
    context.step();
    if (depth > 256) fail('the JSON is nested too deeply');
    if (Array.isArray(item)) {
      context.checkSize(item.length);
      for (const element of item) check(element, depth + 1);
    } else if (isObject(item)) {
      const keys = Object.keys(item);
      context.checkSize(keys.length);
      for (const key of keys) check(item[key], depth + 1);
    }
  };
  check(parsed, 0);
  return parsed;
}

// --- format -------------------------------------------------------------------------------------

/** format's verbs: %s %d %f %t %v %q %% with optional flags, width and precision (Terraform's subset). */
function formatString(spec: string, args: unknown[], context: EvaluationContext, fail: (message: string) => never): string {
  const pieces: string[] = [];
  let next = 0;
  let length = 0;
  const verb = /%([-+# 0]*)(\d+)?(?:\.(\d+))?([sdftvq%])|%/g;
  let last = 0;
  for (let match = verb.exec(spec); match; match = verb.exec(spec)) {
    pieces.push(spec.slice(last, match.index));
    last = verb.lastIndex;
    const [, flags = '', widthText, precisionText, letter] = match;
    if (!letter) fail(`invalid format verb at offset ${match.index} of the format string`);
    if (letter === '%') {
      pieces.push('%');
      continue;
    }
    if (next >= args.length) fail(`not enough arguments for the format string (verb %${letter})`);
    const value = args[next++];
    let text: string;
    switch (letter) {
      case 's':
        text = str(value, fail, `value for %s`);
        break;
      case 'd': {
        const number = num(value, fail, 'value for %d');
        if (!Number.isInteger(number)) fail('%d needs a whole number');
        text = (flags.includes('+') && number >= 0 ? '+' : '') + String(number);
        break;
      }
      case 'f': {
        const number = num(value, fail, 'value for %f');
        const precision = precisionText === undefined ? 6 : Number(precisionText);
        if (precision > 100) fail('precision is too large');
        text = (flags.includes('+') && number >= 0 ? '+' : '') + number.toFixed(precision);
        break;
      }
      case 't': {
        const bool = asBool(value);
        if (bool === null) fail(`the value for %t must be a bool, not ${typeName(value)}`);
        text = String(bool);
        break;
      }
      case 'q':
        text = JSON.stringify(str(value, fail, 'value for %q'));
        break;
      default:
        // %v: primitives as strings, collections as JSON (Terraform's rendering).
        text = asString(value) ?? (value === null ? 'null' : jsonEncode(value, context, fail));
    }
    if (precisionText !== undefined && (letter === 's' || letter === 'q' || letter === 'v')) {
      text = [...text].slice(0, Number(precisionText)).join('');
    }
    const width = widthText === undefined ? 0 : Number(widthText);
    if (width > 1000) fail('width is too large');
    if (width > text.length) {
      const padding = (flags.includes('0') && !flags.includes('-') && letter !== 's' ? '0' : ' ').repeat(width - text.length);
      if (flags.includes('-')) text += padding;
      else if (padding[0] === '0' && (text.startsWith('-') || text.startsWith('+'))) text = text[0] + padding + text.slice(1);
      else text = padding + text;
    }
    length += text.length;
    context.checkLength(length);
    pieces.push(text);
  }
  pieces.push(spec.slice(last));
  if (next < args.length) fail(`too many arguments: the format string uses ${next}, ${args.length} given`);
  return pieces.join('');
}

// --- the table ----------------------------------------------------------------------------------

const any = Number.POSITIVE_INFINITY;

function stringFunction(transform: (text: string) => string): FunctionSpec {
  return { min: 1, max: 1, run: ([text], _context, fail) => transform(str(text, fail)) };
}

const whitespace = /^[\s\u0085]+|[\s\u0085]+$/gu;

const functions: Record<string, FunctionSpec> = {
  jsonencode: { min: 1, max: 1, run: ([value], context, fail) => jsonEncode(value, context, fail) },
  jsondecode: { min: 1, max: 1, run: ([text], context, fail) => jsonDecode(str(text, fail), context, fail) },
  format: { min: 1, max: any, run: ([spec, ...args], context, fail) => formatString(str(spec, fail, 'format string'), args, context, fail) },
  formatlist: {
    min: 1,
    max: any,
    run: ([spec, ...args], context, fail) => {
      const format = str(spec, fail, 'format string');
      let length: number | null = null;
      for (const arg of args) {
        if (!Array.isArray(arg)) continue;
        if (length !== null && arg.length !== length) fail('all list arguments must have the same length');
        length = arg.length;
      }
      const count = length ?? 1;
      context.checkSize(count);
      context.step(count);
      return Array.from({ length: count }, (_, index) =>
        formatString(
          format,
          args.map((arg) => (Array.isArray(arg) ? arg[index] : arg)),
          context,
          fail,
        ),
      );
    },
  },
  join: {
    min: 2,
    max: any,
    run: ([separator, ...lists], context, fail) => {
      const parts = lists.flatMap((item) => list(item, fail, 'list')).map((item) => str(item, fail, 'list element'));
      return joinBounded(parts, str(separator, fail, 'separator'), context);
    },
  },
  split: {
    min: 2,
    max: 2,
    run: ([separator, text], context, fail) => {
      const parts = str(text, fail).split(str(separator, fail, 'separator'));
      context.checkSize(parts.length);
      return parts;
    },
  },
  lower: stringFunction((text) => text.toLowerCase()),
  upper: stringFunction((text) => text.toUpperCase()),
  title: stringFunction((text) => text.replace(/(^|[^\p{L}\p{N}'])(\p{L})/gu, (_, before: string, letter: string) => before + letter.toUpperCase())),
  trimspace: stringFunction((text) => text.replace(whitespace, '')),
  trim: {
    min: 2,
    max: 2,
    run: ([text, cut], _context, fail) => {
      const value = [...str(text, fail)];
      const set = new Set(str(cut, fail, 'character set'));
      let start = 0;
      let end = value.length;
      while (start < end && set.has(value[start] as string)) start++;
      while (end > start && set.has(value[end - 1] as string)) end--;
      return value.slice(start, end).join('');
    },
  },
  trimprefix: {
    min: 2,
    max: 2,
    run: ([text, prefix], _context, fail) => {
      const value = str(text, fail);
      const cut = str(prefix, fail, 'prefix');
      return value.startsWith(cut) ? value.slice(cut.length) : value;
    },
  },
  trimsuffix: {
    min: 2,
    max: 2,
    run: ([text, suffix], _context, fail) => {
      const value = str(text, fail);
      const cut = str(suffix, fail, 'suffix');
      return cut !== '' && value.endsWith(cut) ? value.slice(0, value.length - cut.length) : value;
    },
  },
  replace: {
    min: 3,
    max: 3,
    run: ([text, search, replacement], context, fail) => {
      const value = str(text, fail);
      const find = str(search, fail, 'search string');
      const put = str(replacement, fail, 'replacement');
      if (find === '') return value;
      const pieces = value.split(find);
      return joinBounded(pieces, put, context);
    },
  },
  substr: {
    min: 3,
    max: 3,
    run: ([text, offsetValue, lengthValue], _context, fail) => {
      const chars = [...str(text, fail)];
      let offset = int(offsetValue, fail, 'offset');
      const length = int(lengthValue, fail, 'length');
      if (offset < 0) offset = Math.max(0, chars.length + offset);
      if (offset > chars.length) fail('the offset is beyond the end of the string');
      return chars.slice(offset, length < 0 ? undefined : offset + length).join('');
    },
  },
  length: {
    min: 1,
    max: 1,
    run: ([value], _context, fail) => {
      if (typeof value === 'string') return [...value].length;
      if (Array.isArray(value)) return value.length;
      if (isObject(value)) return Object.keys(value).length;
      return fail(`the argument must be a string, collection or structure, not ${typeName(value)}`);
    },
  },
  lookup: {
    min: 2,
    max: 3,
    run: (args, _context, fail) => {
      const map = obj(args[0], fail, 'map');
      const key = str(args[1], fail, 'key');
      if (Object.hasOwn(map, key)) return map[key];
      if (args.length === 3) return args[2];
      return fail(`the map has no key ${JSON.stringify(key)} and no default was given`);
    },
  },
  contains: {
    min: 2,
    max: 2,
    run: ([collection, value], context, fail) => {
      const items = list(collection, fail, 'collection');
      context.step(items.length);
      return items.some((item) => equal(item, value));
    },
  },
  coalesce: {
    min: 1,
    max: any,
    run: (args, _context, fail) => {
      for (const arg of args) if (arg !== null && arg !== undefined && arg !== '') return arg;
      return fail('no non-null, non-empty argument');
    },
  },
  coalescelist: {
    min: 1,
    max: any,
    run: (args, _context, fail) => {
      for (const arg of args) if (list(arg, fail).length > 0) return arg;
      return fail('no non-empty list argument');
    },
  },
  concat: {
    min: 1,
    max: any,
    run: (args, context, fail) => {
      const lists = args.map((arg) => list(arg, fail));
      context.checkSize(lists.reduce((total, item) => total + item.length, 0));
      return lists.flat();
    },
  },
  keys: { min: 1, max: 1, run: ([value], _context, fail) => sortedKeys(obj(value, fail)) },
  values: {
    min: 1,
    max: 1,
    run: ([value], _context, fail) => {
      const map = obj(value, fail);
      return sortedKeys(map).map((key) => map[key]);
    },
  },
  merge: {
    min: 0,
    max: any,
    run: (args, context, fail) => {
      const entries: Array<[string, unknown]> = [];
      for (const arg of args) {
        if (arg === null || arg === undefined) continue;
        for (const [key, value] of Object.entries(obj(arg, fail))) entries.push([key, value]);
      }
      context.checkSize(entries.length);
      return objectFrom(entries);
    },
  },
  flatten: {
    min: 1,
    max: 1,
    run: ([value], context, fail) => {
      const out: unknown[] = [];
      const walk = (items: unknown[], depth: number): void => {
        if (depth > 256) fail('the list is nested too deeply');
        for (const item of items) {
          context.step();
          if (Array.isArray(item)) walk(item, depth + 1);
          else {
            out.push(item);
            context.checkSize(out.length);
          }
        }
      };
      walk(list(value, fail), 0);
      return out;
    },
  },
  distinct: {
    min: 1,
    max: 1,
    run: ([value], context, fail) => {
      const items = list(value, fail);
      context.step(items.length * Math.min(items.length, 1000));
      const out: unknown[] = [];
      for (const item of items) if (!out.some((seen) => equal(seen, item))) out.push(item);
      return out;
    },
  },
  element: {
    min: 2,
    max: 2,
    run: ([collection, position], _context, fail) => {
      const items = list(collection, fail);
      const at = int(position, fail, 'index');
      if (items.length === 0) fail('cannot use element() with an empty list');
      if (at < 0) fail('the index must not be negative');
      return items[at % items.length];
    },
  },
  index: {
    min: 2,
    max: 2,
    run: ([collection, value], context, fail) => {
      const items = list(collection, fail);
      context.step(items.length);
      const at = items.findIndex((item) => equal(item, value));
      if (at < 0) fail('the value is not in the list');
      return at;
    },
  },
  slice: {
    min: 3,
    max: 3,
    run: ([collection, startValue, endValue], _context, fail) => {
      const items = list(collection, fail);
      const start = int(startValue, fail, 'start index');
      const end = int(endValue, fail, 'end index');
      if (start < 0 || end > items.length || start > end) fail(`invalid range [${start}, ${end}) for a list of ${items.length} items`);
      return items.slice(start, end);
    },
  },
  reverse: { min: 1, max: 1, run: ([value], _context, fail) => [...list(value, fail)].reverse() },
  sort: {
    min: 1,
    max: 1,
    run: ([value], context, fail) => {
      const items = list(value, fail).map((item) => str(item, fail, 'list element'));
      context.step(items.length * 14);
      return items.sort(compareStrings);
    },
  },
  range: {
    min: 1,
    max: 3,
    run: (args, context, fail) => {
      const numbers = args.map((arg) => num(arg, fail));
      const [start, limit, step] =
        numbers.length === 1
          ? [0, numbers[0] as number, 1]
          : [numbers[0] as number, numbers[1] as number, numbers[2] ?? ((numbers[0] as number) <= (numbers[1] as number) ? 1 : -1)];
      if (step === 0) fail('the step must not be zero');
      if ((step > 0 && start > limit) || (step < 0 && start < limit)) fail('the step moves away from the limit');
      const count = Math.ceil((limit - start) / step);
      context.checkSize(count);
      context.step(count);
      return Array.from({ length: count }, (_, index) => start + index * step);
    },
  },
  max: { min: 1, max: any, run: (args, _context, fail) => Math.max(...args.map((arg) => num(arg, fail))) },
  min: { min: 1, max: any, run: (args, _context, fail) => Math.min(...args.map((arg) => num(arg, fail))) },
  abs: { min: 1, max: 1, run: ([value], _context, fail) => Math.abs(num(value, fail)) },
  ceil: { min: 1, max: 1, run: ([value], _context, fail) => Math.ceil(num(value, fail)) },
  floor: { min: 1, max: 1, run: ([value], _context, fail) => Math.floor(num(value, fail)) },
  tostring: {
    min: 1,
    max: 1,
    run: ([value], _context, fail) => (value === null ? null : (asString(value) ?? fail(`cannot convert a ${typeName(value)} to a string`))),
  },
  tonumber: {
    min: 1,
    max: 1,
    run: ([value], _context, fail) => (value === null ? null : (asNumber(value) ?? fail(`cannot convert ${JSON.stringify(value)} to a number`))),
  },
  tobool: {
    min: 1,
    max: 1,
    run: ([value], _context, fail) => (value === null ? null : (asBool(value) ?? fail(`cannot convert ${JSON.stringify(value)} to a bool`))),
  },
  tolist: { min: 1, max: 1, run: ([value], _context, fail) => [...list(value, fail)] },
  tomap: { min: 1, max: 1, run: ([value], _context, fail) => ({ ...obj(value, fail) }) },
  startswith: { min: 2, max: 2, run: ([text, prefix], _context, fail) => str(text, fail).startsWith(str(prefix, fail, 'prefix')) },
  endswith: { min: 2, max: 2, run: ([text, suffix], _context, fail) => str(text, fail).endsWith(str(suffix, fail, 'suffix')) },
  base64encode: {
    min: 1,
    max: 1,
    run: ([text], _context, fail) => {
      const bytes = new TextEncoder().encode(str(text, fail));
      let binary = '';
      for (let at = 0; at < bytes.length; at += 0x8000) binary += String.fromCharCode(...bytes.subarray(at, at + 0x8000));
      return btoa(binary);
    },
  },
  base64decode: {
    min: 1,
    max: 1,
    run: ([text], _context, fail) => {
      let binary: string;
      try {
        binary = atob(str(text, fail));
      } catch {
        return fail('the argument is not valid base64');
      }
      const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        return fail('the decoded bytes are not valid UTF-8');
      }
    },
  },
  urlencode: {
    min: 1,
    max: 1,
    // Go's url.QueryEscape, which Terraform uses: spaces become "+".
    run: ([text], _context, fail) =>
      encodeURIComponent(str(text, fail))
        .replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)
        .replace(/%20/g, '+'),
  },
  sha256: { min: 1, max: 1, run: ([text], _context, fail) => bytesToHex(sha256Digest(new TextEncoder().encode(str(text, fail)))) },
};

/** Every function a template may call (try and can receive their arguments unevaluated), for checks at upload. */
export const functionNames: readonly string[] = [...Object.keys(functions), 'try', 'can'].sort(compareStrings);
