// biome-ignore-all lint/suspicious/noTemplateCurlyInString: HCL sources spell interpolations as ${...}
import { describe, expect, it } from 'vitest';
import { HclEvaluationError } from '../../../src/domain/templates/hcl/errors';
import { evaluate, referencedVariables } from '../../../src/domain/templates/hcl/evaluate';
import { parseHclExpression } from '../../../src/domain/templates/hcl/parser';

const scope = {
  variables: {
    var: { sample: 'hi', ports: [8000, 8001], tags: { team: 'payments', tier: 'backend' }, nothing: null, count: '3' },
    action_outputs: { stage: { s: { task: { t: { action: { a: { out: 'ok' } } } } } } },
  },
};

function run(source: string, limits?: Parameters<typeof evaluate>[2]): unknown {
  return evaluate(parseHclExpression(source), scope, limits);
}

function failure(source: string, limits?: Parameters<typeof evaluate>[2]): HclEvaluationError {
  try {
    run(source, limits);
  } catch (error) {
    if (error instanceof HclEvaluationError) return error;
    throw error;
  }
  throw new Error(`evaluated: ${source}`);
}

describe('evaluate', () => {
  it.each([
    ['1 + 2 * 3', 7],
    ['(1 + 2) * 3 % 4', 1],
    ['var.count + 1', 4],
    ['-var.ports[0]', -8000],
    ['var.ports[1] > 8000 && !false', true],
    ['var.ports == [8000, 8001]', true],
    ['1 == "1"', false],
    ['var.nothing == null ? "none" : "some"', 'none'],
    ['var.nothing != null && var.nothing.x', false],
    ['"${var.sample}-${var.ports[0]}-${true}"', 'hi-8000-true'],
    ['"${var.ports}"', [8000, 8001]],
    ['[for p in var.ports : p + 1 if p > 8000]', [8002]],
    ['[for i, p in var.ports : i]', [0, 1]],
    ['{ for k, v in var.tags : v => k }', { payments: 'team', backend: 'tier' }],
    ['{ for p in [1, 2, 3] : p % 2 == 0 ? "even" : "odd" => p... }', { odd: [1, 3], even: [2] }],
    ['[{ a = 1 }, { a = 2 }][*].a', [1, 2]],
    ['var.nothing[*].a', []],
    ['var.tags.*', [{ team: 'payments', tier: 'backend' }]],
    ['action_outputs.stage.s.task.t.action.a.out', 'ok'],
    ['var.tags["team"]', 'payments'],
    ['{ "__proto__" = 1 }.__proto__', 1],
  ])('%s', (source, expected) => {
    expect(run(source)).toEqual(expected);
  });

  it.each([
    ['nope.x', 'Unknown variable "nope"', 1, 1],
    ['var.missing', 'Unsupported attribute: var.missing does not exist', 1, 1],
    ['var.ports[5]', 'Invalid index: var.ports[5] is out of range (2 items)', 1, 1],
    ['1 +\n var.tags', 'Unsuitable value for "+": a number is required, not object', 2, 2],
    ['"a${var.nothing}"', 'the expression result is null', 1, 5],
    ['"a${var.ports}"', 'cannot include a tuple in a string', 1, 5],
    ['1 / 0', 'Division by zero', 1, 1],
    ['var.sample ? 1 : 2', 'The condition must be a bool', 1, 1],
    ['{ for p in [1, 1] : p => p }', 'Duplicate object key "1"', 1, 21],
    ['nosuch(1)', 'Call to unknown function "nosuch"', 1, 1],
  ])('rejects %j', (source, message, line, column) => {
    const error = failure(source);
    expect(error.detail).toContain(message);
    expect({ line: error.line, column: error.column }).toEqual({ line, column });
  });

  it('is bounded by its step budget, string length and collection size', () => {
    expect(failure('[for a in range(100) : [for b in range(100) : a * b]]', { maxSteps: 5000 }).detail).toContain('budget of 5000 steps');
    expect(failure('join("", [for i in range(10000) : "${i}"])', { maxStringLength: 1000 }).detail).toContain('limit of 1000 characters');
    expect(failure('range(100000)').detail).toContain('limit of 10000 items');
    expect(failure('concat(range(6000), range(6000))').detail).toContain('limit of 10000 items');
    // A doubling string stops at the cap instead of exhausting memory.
    expect(
      failure(
        'replace(replace(replace(replace(join("", range(10000)), "1", join("", range(10000))), "2", "xxxxxxxxxxxxxxxxxxxxxx"), "3", "yyyyyyyyy"), "4", "zzzzzzzzzz")',
      ).detail,
    ).toContain('characters');
  });

  it('lists the traversals an expression references, leaving out for variables', () => {
    const expression = parseHclExpression(
      '"${var.x} ${action_outputs.stage.s.task.t.action.a.out}" == jsonencode([for p in var.ports : p.name if var.y[0]]) ? var.m[var.k] : null',
    );
    expect(referencedVariables(expression)).toEqual([
      ['var', 'x'],
      ['action_outputs', 'stage', 's', 'task', 't', 'action', 'a', 'out'],
      ['var', 'ports'],
      ['var', 'y', '0'],
      ['var', 'm'],
      ['var', 'k'],
    ]);
  });
});
