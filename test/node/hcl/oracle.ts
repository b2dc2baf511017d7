// HashiCorp's own HCL parser (hclsyntax compiled to WebAssembly, packaged as @cdktf/hcl2json) as a
// test-only oracle, and a converter from our syntax tree to its JSON shape so the two can be
// compared structurally. Its shape (observed on samples): blocks nest as objects keyed by type then
// each label, ending in an array of bodies; literal expressions become JSON values; templates
// become strings with literal text re-escaped (`${` → `$${`, `%{` → `%%{`) and other expressions
// as `${<source text>}`; any other expression is `${<source text>}`.
import { parse } from '@cdktf/hcl2json';
import type { Block, Body, Expression } from '../../../src/domain/templates/hcl/ast';

export type OracleResult = { ok: true; json: unknown } | { ok: false; syntax: boolean; message: string };

/** Parses with HashiCorp's parser. `syntax: false` means it parsed but could not render JSON. */
export async function oracle(source: string): Promise<OracleResult> {
  try {
    return { ok: true, json: await parse('template.hcl', source) };
  } catch (error) {
    const message = (error as Error).message;
    return { ok: false, syntax: message.startsWith('parse config'), message };
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Our body in hcl2json's shape. */
export function toOracleShape(body: Body, source: string): Json {
  const out: Record<string, Json> = {};
  for (const item of body.items) {
    if (item.type === 'attribute') out[item.name] = expression(item.expression, source);
    else addBlock(out, item, source);
  }
  return out;
}

function addBlock(out: Record<string, Json>, block: Block, source: string): void {
  let container = out;
  const keys = [block.blockType, ...block.labels];
  const last = keys.pop() as string;
  for (const key of keys) {
    const next = container[key];
    if (next === undefined || next === null || typeof next !== 'object' || Array.isArray(next)) container[key] = {};
    container = container[key] as Record<string, Json>;
  }
  const list = Array.isArray(container[last]) ? (container[last] as Json[]) : [];
  list.push(toOracleShape(block.body, source));
  container[last] = list;
}

function escapeLiteral(text: string): string {
  // Replacer functions: in a replacement string `$$` would mean a single `$`.
  return text.replaceAll('${', () => '$${').replaceAll('%{', () => '%%{');
}

function wrap(node: Expression, source: string): string {
  return `\${${source.slice(node.range.start.offset, node.range.end.offset)}}`;
}

function expression(node: Expression, source: string): Json {
  switch (node.kind) {
    case 'literal':
      return typeof node.value === 'string' ? escapeLiteral(node.value) : node.value;
    case 'unary': {
      // HashiCorp's parser folds `-` applied to a number token into the literal, and hcl2json then
      // evaluates a unary operator whose operand is a literal.
      const operand = node.operand.kind === 'unary' ? folded(node.operand) : node.operand;
      // A quoted string is a template, not a literal, in HashiCorp's tree.
      if (operand?.kind === 'literal' && typeof operand.value === (node.operator === '-' ? 'number' : 'boolean'))
        return node.operator === '-' ? -(operand.value as number) : !operand.value;
      return wrap(node, source);
    }
    case 'template': {
      const [only] = node.parts;
      if (node.parts.length === 1 && typeof only === 'object') return expression(only, source);
      return templateText(node, source);
    }
    case 'tuple':
      return node.items.map((item) => expression(item, source));
    case 'object': {
      const out: Record<string, Json> = {};
      for (const item of node.items) out[objectKey(item.key, source)] = expression(item.value, source);
      return out;
    }
    default:
      return wrap(node, source);
  }
}

function templateText(node: Extract<Expression, { kind: 'template' }>, source: string): string {
  return node.parts
    .map((part) => {
      if (typeof part === 'string') return escapeLiteral(part);
      if (part.kind === 'literal') return escapeLiteral(String(part.value));
      if (part.kind === 'template') return templateText(part, source);
      // hcl2json renders a conditional inside a template as an `%{if}` directive.
      if (part.kind === 'conditional') {
        return `%{if ${sourceOf(part.condition, source)}}${stringPart(part.then, source)}%{else}${stringPart(part.else, source)}%{endif}`;
      }
      return wrap(part, source);
    })
    .join('');
}

function folded(node: Extract<Expression, { kind: 'unary' }>): Expression | null {
  if (node.operator === '-' && node.operand.kind === 'literal' && typeof node.operand.value === 'number') {
    return { kind: 'literal', value: -node.operand.value, range: node.range };
  }
  return null;
}

function sourceOf(node: Expression, source: string): string {
  return source.slice(node.range.start.offset, node.range.end.offset);
}

function stringPart(node: Expression, source: string): string {
  return templateText({ kind: 'template', parts: [node], range: node.range }, source);
}

function objectKey(key: Expression, source: string): string {
  if (key.kind === 'literal') return escapeLiteral(String(key.value));
  if (key.kind === 'getAttr' || key.kind === 'index') return source.slice(key.range.start.offset, key.range.end.offset);
  if (key.kind === 'template') return templateText(key, source);
  return wrap(key, source);
}
