// Generated inputs, compared with HashiCorp's parser: random valid documents printed from a
// generator agree in structure; random mutations of the corpus are accepted or rejected alike.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HclSyntaxError } from '../../../src/domain/templates/hcl/errors';
import { parseHcl } from '../../../src/domain/templates/hcl/parser';
import { oracle, toOracleShape } from './oracle';

const name = fc.constantFrom('a', 'b', 'name', 'value_1', 'x-y', 'command', 'for_each', 'ifx', 'in_');
const text = fc.stringMatching(/^[a-z0-9 .,:/=_-]{0,12}$/);
const escapeSequence = fc.constantFrom('\\n', '\\t', '\\"', '\\\\', '\\u00e9', '\\U0001F680', '$${x}', '%%{y}');

const expression: fc.Arbitrary<string> = fc.letrec<{ expr: string; term: string }>((tie) => ({
  term: fc.oneof(
    { maxDepth: 3, depthIdentifier: 'expression', withCrossShrink: true },
    fc.integer({ min: 0, max: 100000 }).map(String),
    fc.constantFrom('1.5', '0.25', '1e3', '2E-2', 'true', 'false', 'null', '-3', '!true'),
    fc.array(fc.oneof(text, escapeSequence), { maxLength: 3 }).map((parts) => `"${parts.join('')}"`),
    fc.tuple(text, tie('expr'), text).map(([before, inner, after]) => `"${before}\${${inner}}${after}"`),
    fc
      .tuple(
        name,
        fc.array(
          fc.oneof(
            name.map((n) => `.${n}`),
            fc.nat(9).map((n) => `[${n}]`),
          ),
          { maxLength: 3 },
        ),
      )
      .map(([root, steps]) => `var.${root}${steps.join('')}`),
    fc.array(tie('expr'), { maxLength: 3 }).map((items) => `[${items.join(', ')}]`),
    fc.array(fc.tuple(name, tie('expr')), { maxLength: 3 }).map(
      (items) =>
        `{ ${uniqueKeys(items)
          .map(([k, v]) => `${k} = ${v}`)
          .join(', ')} }`,
    ),
    fc.tuple(fc.constantFrom('upper', 'join', 'length', 'f'), fc.array(tie('expr'), { maxLength: 3 })).map(([fn, args]) => `${fn}(${args.join(', ')})`),
    tie('expr').map((inner) => `(${inner})`),
    fc.tuple(tie('expr'), tie('expr')).map(([collection, value]) => `[for k, v in ${collection} : ${value}]`),
    fc.tuple(tie('expr'), tie('expr')).map(([collection, value]) => `{ for v in ${collection} : v => ${value}... }`),
    fc.tuple(name, name).map(([a, b]) => `var.${a}[*].${b}`),
  ),
  expr: fc.oneof(
    { maxDepth: 3, depthIdentifier: 'expression', withCrossShrink: true },
    tie('term'),
    fc
      .tuple(tie('term'), fc.constantFrom('+', '-', '*', '/', '%', '==', '!=', '<', '<=', '>', '>=', '&&', '||'), tie('term'))
      .map(([l, op, r]) => `${l} ${op} ${r}`),
    fc.tuple(tie('term'), tie('term'), tie('term')).map(([c, t, e]) => `${c} ? ${t} : ${e}`),
    tie('term').map((operand) => `!${operand}`),
  ),
})).expr;

function uniqueKeys<T>(items: Array<[string, T]>): Array<[string, T]> {
  const seen = new Set<string>();
  return items.filter(([key]) => !seen.has(key) && seen.add(key));
}

// Block types carry their label count in their name, so two blocks never nest differently under one key.
function bodyAt(depth: number): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.array(fc.tuple(name, expression), { maxLength: 4 }),
      fc.array(
        fc.tuple(
          fc.constantFrom(0, 1, 2),
          fc.array(fc.constantFrom('x', 'y', 'with space', 'é'), { minLength: 2, maxLength: 2 }),
          fc.boolean(),
          depth > 0 ? bodyAt(depth - 1) : fc.constant(''),
        ),
        { maxLength: depth > 0 ? 2 : 0 },
      ),
    )
    .map(([attributes, blocks]) => {
      const lines = uniqueKeys(attributes).map(([key, value]) => `${key} = ${value}`);
      for (const [count, labels, bare, inner] of blocks) {
        const written = labels.slice(0, count).map((label) => (bare && /^[a-z]+$/.test(label) ? label : `"${label}"`));
        lines.push(`block${count} ${written.join(' ')} {\n${inner}\n}`);
      }
      return lines.join('\n');
    });
}

const body = bodyAt(3);

describe('generated documents agree with HashiCorp parser', () => {
  it('parses random valid documents to the same structure', async () => {
    await fc.assert(
      fc.asyncProperty(body, async (source) => {
        const expected = await oracle(source);
        if (!expected.ok) {
          // The generator only writes valid HCL; hcl2json may still refuse to render some shapes as JSON.
          expect(expected.syntax, `${expected.message}\n${source}`).toBe(false);
          parseHcl(source);
          return;
        }
        expect(toOracleShape(parseHcl(source), source)).toEqual(expected.json);
      }),
      { numRuns: 300 },
    );
  });
});

const corpusDirectory = join(import.meta.dirname, '../../fixtures/templates');
const corpus = readdirSync(corpusDirectory)
  .filter((file) => file.endsWith('.hcl'))
  .map((file) => readFileSync(join(corpusDirectory, file), 'utf8'));

const mutation = fc
  .tuple(
    fc.constantFrom(...corpus),
    fc.array(
      fc.tuple(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.boolean(),
        fc.constantFrom('{', '}', '[', ']', '(', ')', '"', '=', ',', '\n', ' ', '$', '%', '.', '*', ':', '?', '#', '/', '\\', '<', '-', 'a', '1', '~'),
      ),
      { minLength: 1, maxLength: 3 },
    ),
  )
  .map(([source, edits]) => {
    let result = source;
    for (const [where, insert, char] of edits) {
      const at = Math.floor(where * result.length);
      result = insert ? result.slice(0, at) + char + result.slice(at) : result.slice(0, at) + result.slice(at + 1);
    }
    return result;
  });

describe('mutated corpus templates', () => {
  it('are rejected when HashiCorp rejects them and parsed alike when it accepts them', async () => {
    await fc.assert(
      fc.asyncProperty(mutation, async (source) => {
        const expected = await oracle(source);
        let ours: ReturnType<typeof parseHcl> | HclSyntaxError;
        try {
          ours = parseHcl(source);
        } catch (error) {
          if (!(error instanceof HclSyntaxError)) throw error;
          ours = error;
        }
        if (!expected.ok && expected.syntax) {
          expect(ours, `HashiCorp rejects: ${expected.message}\n${source}`).toBeInstanceOf(HclSyntaxError);
          return;
        }
        expect(ours, `HashiCorp accepts\n${source}`).not.toBeInstanceOf(HclSyntaxError);
        if (expected.ok && !(ours instanceof HclSyntaxError)) expect(toOracleShape(ours, source)).toEqual(expected.json);
      }),
      { numRuns: 400 },
    );
  });
});
