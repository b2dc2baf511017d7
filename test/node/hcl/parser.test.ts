// biome-ignore-all lint/suspicious/noTemplateCurlyInString: HCL sources spell interpolations as ${...}
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Attribute, Block, Expression } from '../../../src/domain/templates/hcl/ast';
import { HclSyntaxError } from '../../../src/domain/templates/hcl/errors';
import { parseHcl, parseHclExpression } from '../../../src/domain/templates/hcl/parser';

function attribute(source: string): Expression {
  return (parseHcl(source).items[0] as Attribute).expression;
}

function syntaxError(source: string): HclSyntaxError {
  try {
    parseHcl(source);
  } catch (error) {
    if (error instanceof HclSyntaxError) return error;
    throw error;
  }
  throw new Error(`accepted: ${source}`);
}

describe('parseHcl', () => {
  it('reads blocks with quoted and bare labels, and one-line blocks', () => {
    const body = parseHcl('plugin exec {}\nstage "a b" {\n  task t { x = 1 }\n}\n');
    const [plugin, stage] = body.items as Block[];
    expect(plugin).toMatchObject({ type: 'block', blockType: 'plugin', labels: ['exec'] });
    expect(stage?.labels).toEqual(['a b']);
    expect(stage?.labelRanges[0]).toMatchObject({ start: { line: 2, column: 7 }, end: { line: 2, column: 12 } });
    expect(stage?.body.items[0]).toMatchObject({ blockType: 'task', body: { items: [{ name: 'x', expression: { value: 1 } }] } });
  });

  it('gives 1-based positions counting code points', () => {
    const expression = attribute('a = "🚀" + b');
    expect(expression).toMatchObject({ kind: 'binary', right: { kind: 'variable', range: { start: { line: 1, column: 11, offset: 11 } } } });
  });

  it('decodes escapes and keeps $${ and %%{ literal', () => {
    expect(attribute('a = "\\n\\t\\"\\\\\\u00e9\\U0001F680 $${x} %%{y}"')).toMatchObject({ kind: 'literal', value: '\n\t"\\é🚀 ${x} %{y}' });
  });

  it('applies HCL precedence and left associativity', () => {
    const expression = parseHclExpression('!a || b && c == 1 + 2 * 3 - 4');
    expect(expression).toMatchObject({
      operator: '||',
      left: { kind: 'unary', operator: '!' },
      right: { operator: '&&', right: { operator: '==', right: { operator: '-', left: { operator: '+', right: { operator: '*' } } } } },
    });
  });

  it('reads traversals, legacy indexes and splats', () => {
    expect(parseHclExpression('a.b[0].c.1')).toMatchObject({ kind: 'index', key: { value: 1 }, object: { kind: 'getAttr', name: 'c' } });
    expect(parseHclExpression('a.0.1')).toMatchObject({ kind: 'index', key: { value: 1 }, object: { kind: 'index', key: { value: 0 } } });
    expect(parseHclExpression('a[*].b[0]')).toMatchObject({
      kind: 'splat',
      each: { kind: 'index', object: { kind: 'getAttr', object: { kind: 'splatItem' } } },
    });
    // `.*` takes attributes only: the index applies to the splat's result.
    expect(parseHclExpression('a.*.b[0]')).toMatchObject({ kind: 'index', object: { kind: 'splat', each: { kind: 'getAttr' } } });
  });

  it('reads for expressions, calls with expansion, conditionals and objects', () => {
    expect(parseHclExpression('{ for k, v in m : k => v... if v }')).toMatchObject({ kind: 'for', keyVariable: 'k', grouping: true, condition: { name: 'v' } });
    expect(parseHclExpression('f(a,\n b...)')).toMatchObject({ kind: 'call', expandFinal: true, args: [{}, {}] });
    expect(parseHclExpression('a ? b : c ? d : e')).toMatchObject({ kind: 'conditional', else: { kind: 'conditional' } });
    expect(attribute('o = {\n  a = 1\n  "b": 2, (c) = 3\n}')).toMatchObject({
      kind: 'object',
      items: [{ key: { kind: 'literal', value: 'a' } }, { key: { kind: 'literal', value: 'b' } }, { key: { kind: 'parens' } }],
    });
  });

  it('strips heredoc indentation for <<- and keeps it for <<', () => {
    expect(attribute('a = <<-EOT\n    one\n      two\n    EOT\n')).toMatchObject({ value: 'one\n  two\n' });
    expect(attribute('a = <<EOT\n  one ${x}\nEOT\n')).toMatchObject({ kind: 'template', parts: ['  one ', { kind: 'variable' }, '\n'] });
  });

  it('applies strip markers', () => {
    expect(attribute('a = "x  ${~ y ~}  z"')).toMatchObject({ parts: ['x', { name: 'y' }, 'z'] });
  });

  it.each([
    ['a = 1\na = 2', 'Attribute redefined: "a" was already set at line 1, column 1', 2, 1],
    ['a = "x', 'Unterminated template string', 1, 6],
    ['a = "x\ny"', 'Quoted strings may not be split over multiple lines', 1, 7],
    ['a = 1 +\n 2', 'Expected an expression, found a newline', 1, 8],
    ['a = "\\q"', 'Invalid escape sequence', 1, 6],
    ['a = "%{ if x }y%{ endif }"', 'Template directives (%{if}, %{for}) are not supported', 1, 6],
    ['b { c {} }', 'A single-line block can contain only one attribute', 1, 5],
    ['a = 1 b = 2', 'Expected a newline after the attribute', 1, 7],
    ['a = { x = 1 y = 2 }', 'Expected a newline, "," or "}" after an object item', 1, 13],
    ['stage "${x}" {}', 'Block labels must be plain strings', 1, 8],
    ['a = <<EOT\nnever closed', 'Unterminated heredoc', 2, 1],
    ['a = @', 'Invalid character "@"', 1, 5],
    ['}', 'Unexpected "}"', 1, 1],
  ])('rejects %j', (source, message, line, column) => {
    const error = syntaxError(source);
    expect(error.detail).toContain(message);
    expect({ line: error.line, column: error.column }).toEqual({ line, column });
  });

  it('fails fast on deep nesting and long chains instead of overflowing the stack', () => {
    for (const source of [
      `a = ${'['.repeat(100_000)}`,
      `a = ${'('.repeat(100_000)}1${')'.repeat(100_000)}`,
      `a = ${'{a='.repeat(100_000)}`,
      `a = ${'-'.repeat(100_000)}1`,
      `a = x${'.b'.repeat(100_000)}`,
      `a = ${'1+'.repeat(100_000)}1`,
      `a = "${'${"'.repeat(50_000)}`,
      `${'b {\n'.repeat(100_000)}`,
    ]) {
      const started = Date.now();
      expect(() => parseHcl(source)).toThrow(HclSyntaxError);
      expect(Date.now() - started).toBeLessThan(2000);
    }
  });

  it('scans a huge string in linear time', () => {
    const started = Date.now();
    expect(attribute(`a = "${'x'.repeat(131_072)}"`)).toMatchObject({ kind: 'literal' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('throws only HclSyntaxError on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'{}[]()"$%~=:.,*?!<>-+/#\\\n abc1eEOT'.split('')), maxLength: 80 }), (source) => {
        try {
          parseHcl(source);
        } catch (error) {
          if (!(error instanceof HclSyntaxError)) throw error;
        }
      }),
      { numRuns: 500 },
    );
  });
});
