// biome-ignore-all lint/suspicious/noTemplateCurlyInString: HCL sources spell interpolations as ${...}
import { describe, expect, it } from 'vitest';
import { HclEvaluationError } from '../../../src/domain/templates/hcl/errors';
import { evaluate } from '../../../src/domain/templates/hcl/evaluate';
import { parseHclExpression } from '../../../src/domain/templates/hcl/parser';
import { convertToType, HclConversionError, parseTypeConstraint } from '../../../src/domain/templates/hcl/types';

const run = (source: string): unknown => evaluate(parseHclExpression(source), { variables: { var: { m: { b: 2, a: 1 } } } });

describe('functions', () => {
  it.each([
    ['jsonencode({ b = [1, "<&>"], a = true })', '{"a":true,"b":[1,"\\u003c\\u0026\\u003e"]}'],
    ['jsondecode("{\\"a\\": [1, null]}")', { a: [1, null] }],
    ['format("%s:%d %q %t %.2f %5s|%-3d|%% %v", "x", 42, "q", true, 3.14159, "r", 7, [1])', 'x:42 "q" true 3.14     r|7  |% [1]'],
    ['formatlist("%s=%d", ["a", "b"], [1, 2])', ['a=1', 'b=2']],
    ['join("-", ["a", "b"], ["c"])', 'a-b-c'],
    ['split(",", "a,b")', ['a', 'b']],
    ['[lower("AB"), upper("ab"), title("hello world"), trimspace("  x \\n")]', ['ab', 'AB', 'Hello World', 'x']],
    ['[trim("?!x?!", "!?"), trimprefix("v1.2", "v"), trimsuffix("a.txt", ".txt")]', ['x', '1.2', 'a']],
    ['replace("a.b.c", ".", "::")', 'a::b::c'],
    ['[substr("héllo", 1, 3), substr("hello", -3, -1)]', ['éll', 'llo']],
    ['[length("héllo"), length([1, 2]), length({ a = 1 })]', [5, 2, 1]],
    ['[lookup({ a = 1 }, "a"), lookup({ a = 1 }, "b", 0)]', [1, 0]],
    ['[contains(["a"], "a"), coalesce(null, "", "x"), coalescelist([], [1])]', [true, 'x', [1]]],
    ['[concat([1], [2]), keys(var.m), values(var.m), merge({ a = 1 }, { a = 2, b = 3 })]', [[1, 2], ['a', 'b'], [1, 2], { a: 2, b: 3 }]],
    ['[flatten([1, [2, [3]]]), distinct([1, 1, 2]), element(["a", "b"], 3), index(["a", "b"], "b")]', [[1, 2, 3], [1, 2], 'b', 1]],
    [
      '[slice([1, 2, 3], 1, 3), reverse([1, 2]), sort(["b", "a"]), range(3), range(1, 4, 2), range(3, 0), range(5, 0, -2)]',
      [
        [2, 3],
        [2, 1],
        ['a', 'b'],
        [0, 1, 2],
        [1, 3],
        [3, 2, 1],
        [5, 3, 1],
      ],
    ],
    ['[max(1, 5), min(1, 5), abs(-2), ceil(1.2), floor(1.8)]', [5, 1, 2, 2, 1]],
    ['[tostring(1), tonumber("2"), tobool("true"), tolist([1]), tomap({ a = 1 })]', ['1', 2, true, [1], { a: 1 }]],
    ['[startswith("abc", "ab"), endswith("abc", "bc")]', [true, true]],
    ['[base64encode("héllo"), base64decode("aMOpbGxv"), urlencode("a b&c~")]', ['aMOpbGxv', 'héllo', 'a+b%26c~']],
    ['sha256("hello")', '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'],
    ['[try(var.m.missing, "fallback"), can(var.m.missing), can(var.m.a)]', ['fallback', false, true]],
  ])('%s', (source, expected) => {
    expect(run(source)).toEqual(expected);
  });

  it.each([
    ['uuid()', 'Call to unknown function "uuid"'],
    ['timestamp()', 'Call to unknown function "timestamp"'],
    ['upper(1, 2)', 'upper(): takes 1 argument, 2 given'],
    ['format("%d", "x")', 'format(): the value for %d must be a number'],
    ['format("%s %s", "x")', 'not enough arguments'],
    ['jsondecode("{")', 'jsondecode(): invalid JSON'],
    ['base64decode("***")', 'not valid base64'],
    ['element([], 0)', 'empty list'],
  ])('rejects %s', (source, message) => {
    expect(() => run(source)).toThrow(HclEvaluationError);
    expect(() => run(source)).toThrow(message);
  });
});

describe('types', () => {
  const type = (source: string) => parseTypeConstraint(parseHclExpression(source));

  it('reads type constraints', () => {
    expect(type('string')).toBe('string');
    expect(type('list(number)')).toEqual({ list: 'number' });
    expect(type('map(set(bool))')).toEqual({ map: { set: 'bool' } });
    expect(type('tuple([string, any])')).toEqual({ tuple: ['string', 'any'] });
    expect(type('object({ name = string, ports = list(number) })')).toEqual({ object: { name: 'string', ports: { list: 'number' } } });
  });

  it.each([
    ['strin', 'Invalid type "strin"', 1, 1],
    ['list(number, string)', 'takes exactly one argument', 1, 1],
    ['object({ a = strng })', 'Invalid type "strng"', 1, 14],
    ['func(string)', 'Invalid type constructor "func"', 1, 1],
    ['"string"', 'Invalid type', 1, 1],
  ])('rejects %s', (source, message, line, column) => {
    try {
      type(source);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(HclEvaluationError);
      expect((error as HclEvaluationError).detail).toContain(message);
      expect([(error as HclEvaluationError).line, (error as HclEvaluationError).column]).toEqual([line, column]);
    }
  });

  it('converts values safely', () => {
    expect(convertToType(['1', 2], { list: 'number' }, 'var.ports')).toEqual([1, 2]);
    expect(convertToType([true, 'false'], { tuple: ['string', 'bool'] }, 'var.t')).toEqual(['true', false]);
    expect(convertToType({ a: 1, extra: 2 }, { object: { a: 'string' } }, 'var.o')).toEqual({ a: '1' });
    expect(convertToType([1, 1, 2], { set: 'number' }, 'var.s')).toEqual([1, 2]);
    expect(convertToType(null, 'string', 'var.n')).toBeNull();
    expect(convertToType({ x: [1] }, 'any', 'var.a')).toEqual({ x: [1] });
  });

  it.each([
    [[8000, 'eighty'], { list: 'number' }, 'var.ports[1]: a number is required, not "eighty"'],
    [{ a: { b: 'x' } }, { map: { object: { b: 'bool' } } }, 'var.m["a"].b: a bool is required, not "x"'],
    [{}, { object: { name: 'string' } }, 'var.o: attribute "name" is required'],
    ['x', { list: 'string' }, 'var.l: a list is required, not string'],
    [[1], { tuple: ['number', 'number'] }, 'var.t: a tuple of 2 elements is required, not 1'],
    [[1], 'string', 'var.s: a string is required, not tuple'],
  ] as const)('rejects %j as %j', (value, constraint, message) => {
    const path = message.slice(0, message.indexOf(/[[.:]/.exec(message.slice(4))?.[0] ?? ':', 4));
    expect(() => convertToType(value, constraint as never, path)).toThrow(HclConversionError);
    expect(() => convertToType(value, constraint as never, path)).toThrow(message);
  });
});
