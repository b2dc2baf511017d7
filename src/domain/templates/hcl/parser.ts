// A recursive-descent parser for HCL's native syntax (hclsyntax spec, "Structural Elements" and
// "Expressions"), producing the plain-JSON tree of ast.ts. Newlines end attributes and separate
// object items, except inside parentheses, brackets, function arguments, `for` expressions and
// interpolations, where HCL ignores them; the parser keeps that as a stack of flags. Nesting is
// capped (maxDepth) so hostile input gives an HclSyntaxError, never a stack overflow.
import type { Attribute, BinaryOperator, Block, Body, Expression, Range } from './ast';
import type { HclSyntaxError } from './errors';
import { SourceMap, type Token, tokenize } from './lexer';

/** Nesting limit for blocks, brackets, parentheses, operators and templates. */
const maxDepth = 256;

/** Binary operators by precedence level, lowest first (spec, "Operations"). */
const binaryLevels: BinaryOperator[][] = [['||'], ['&&'], ['==', '!='], ['<', '<=', '>', '>='], ['+', '-'], ['*', '/', '%']];

/** Parses a whole HCL file into its body. */
export function parseHcl(source: string): Body {
  return new Parser(source).parseFile();
}

/** Parses a single expression (e.g. a gate's `success_condition` string). */
export function parseHclExpression(source: string): Expression {
  return new Parser(source).parseStandaloneExpression();
}

class Parser {
  private readonly map: SourceMap;
  private readonly tokens: Token[];
  private index = 0;
  /** true: newline tokens are skipped (inside (), [], interpolations, for expressions). */
  private readonly ignoreNewlines: boolean[] = [false];
  private depth = 0;

  constructor(private readonly source: string) {
    this.map = new SourceMap(source);
    this.tokens = tokenize(source, this.map);
  }

  parseFile(): Body {
    const body = this.parseBody(true);
    return body;
  }

  parseStandaloneExpression(): Expression {
    this.ignoreNewlines.push(true);
    const expression = this.parseExpression();
    const next = this.peek();
    if (next.type !== 'eof') throw this.errorAt(next, `Unexpected ${describe(next)} after the expression`);
    return expression;
  }

  // --- token cursor -------------------------------------------------------------------------

  private peek(): Token {
    const skip = this.ignoreNewlines[this.ignoreNewlines.length - 1];
    let at = this.index;
    while (skip && this.tokens[at]?.type === 'newline') at++;
    return this.tokens[at] as Token;
  }

  private next(): Token {
    const skip = this.ignoreNewlines[this.ignoreNewlines.length - 1];
    while (skip && this.tokens[this.index]?.type === 'newline') this.index++;
    const token = this.tokens[this.index] as Token;
    if (token.type !== 'eof') this.index++;
    return token;
  }

  /** The next token without skipping newlines. */
  private peekRaw(): Token {
    return this.tokens[this.index] as Token;
  }

  private isPunct(token: Token, value: string): boolean {
    return token.type === 'punct' && token.value === value;
  }

  private expectPunct(value: string, context: string): Token {
    const token = this.next();
    if (!this.isPunct(token, value)) throw this.errorAt(token, `Expected "${value}" ${context}, found ${describe(token)}`);
    return token;
  }

  private withNewlines<T>(ignore: boolean, parse: () => T): T {
    this.ignoreNewlines.push(ignore);
    try {
      return parse();
    } finally {
      this.ignoreNewlines.pop();
    }
  }

  private enter(token: Token): void {
    this.depth++;
    if (this.depth > maxDepth) throw this.errorAt(token, `Nesting is too deep (more than ${maxDepth} levels)`);
  }

  private checkChain(token: Token, length: number): void {
    if (this.depth + length > maxDepth) throw this.errorAt(token, `Expression is too deep (more than ${maxDepth} levels of operators or traversal steps)`);
  }

  private leave(): void {
    this.depth--;
  }

  private range(start: number, end: number): Range {
    return { start: this.map.position(start), end: this.map.position(end) };
  }

  private errorAt(token: Token, message: string): HclSyntaxError {
    return this.map.error(message, token.start);
  }

  // --- structure ------------------------------------------------------------------------------

  private parseBody(topLevel: boolean, open?: Token): Body {
    const items: Array<Attribute | Block> = [];
    const seen = new Map<string, Attribute>();
    const start = open ? open.start : 0;
    while (true) {
      const token = this.next();
      if (token.type === 'newline') continue;
      if (token.type === 'eof') {
        if (!topLevel) throw this.errorAt(token, 'Unclosed block: missing "}"');
        return { items, range: this.range(start, this.source.length) };
      }
      if (this.isPunct(token, '}')) {
        if (topLevel) throw this.errorAt(token, 'Unexpected "}": no block is open here');
        return { items, range: this.range(start, token.end) };
      }
      if (token.type !== 'ident') {
        throw this.errorAt(token, `Expected an attribute or block definition, found ${describe(token)}`);
      }
      const item = this.parseBodyItem(token);
      if (item.type === 'attribute') {
        const previous = seen.get(item.name);
        if (previous) {
          throw this.map.error(
            `Attribute redefined: "${item.name}" was already set at line ${previous.nameRange.start.line}, column ${previous.nameRange.start.column}`,
            token.start,
          );
        }
        seen.set(item.name, item);
      }
      items.push(item);
      // Every item ends its line (or the file, or an enclosing block on the same line).
      const after = this.peekRaw();
      if (after.type === 'newline') this.next();
      else if (after.type !== 'eof') {
        throw this.errorAt(after, `Expected a newline after the ${item.type === 'attribute' ? 'attribute' : 'block'}, found ${describe(after)}`);
      }
    }
  }

  private parseBodyItem(name: Token): Attribute | Block {
    const after = this.peekRaw();
    if (this.isPunct(after, '=')) {
      this.next();
      const expression = this.parseExpression();
      return {
        type: 'attribute',
        name: name.value,
        nameRange: this.range(name.start, name.end),
        expression,
        range: { start: this.map.position(name.start), end: expression.range.end },
      };
    }
    const labels: string[] = [];
    const labelRanges: Range[] = [];
    while (true) {
      const token = this.next();
      if (token.type === 'ident') {
        labels.push(token.value);
        labelRanges.push(this.range(token.start, token.end));
        continue;
      }
      if (token.type === 'oquote') {
        const [value, end] = this.parseQuotedLabel();
        labels.push(value);
        labelRanges.push(this.range(token.start, end));
        continue;
      }
      if (this.isPunct(token, '{')) return this.parseBlockRest(name, labels, labelRanges, token);
      throw this.errorAt(token, `Expected "=" for an attribute or a label or "{" for a block after "${name.value}", found ${describe(token)}`);
    }
  }

  private parseQuotedLabel(): [string, number] {
    let value = '';
    while (true) {
      const token = this.next();
      if (token.type === 'lit') value += token.value;
      else if (token.type === 'cquote') return [value, token.end];
      else throw this.errorAt(token, 'Block labels must be plain strings: interpolations and directives are not allowed here');
    }
  }

  private parseBlockRest(name: Token, labels: string[], labelRanges: Range[], open: Token): Block {
    this.enter(open);
    let body: Body;
    const first = this.peekRaw();
    if (first.type === 'newline') {
      body = this.parseBody(false, open);
    } else if (this.isPunct(first, '}')) {
      const close = this.next();
      body = { items: [], range: this.range(open.start, close.end) };
    } else {
      // The one-line form: `name "label" { attribute = value }`, a single attribute at most.
      const attributeName = this.next();
      if (attributeName.type !== 'ident' || !this.isPunct(this.peekRaw(), '=')) {
        throw this.errorAt(attributeName, 'A single-line block can contain only one attribute (name = value); put nested blocks on lines of their own');
      }
      const attribute = this.parseBodyItem(attributeName) as Attribute;
      const close = this.next();
      if (!this.isPunct(close, '}')) {
        throw this.errorAt(close, 'A single-line block can contain only one attribute; expected "}" after it');
      }
      body = { items: [attribute], range: this.range(open.start, close.end) };
    }
    this.leave();
    return {
      type: 'block',
      blockType: name.value,
      labels,
      labelRanges,
      body,
      range: this.range(name.start, body.range.end.offset),
    };
  }

  // --- expressions ----------------------------------------------------------------------------

  private parseExpression(): Expression {
    const token = this.peek();
    this.enter(token);
    const condition = this.parseBinary(0);
    let result = condition;
    if (this.isPunct(this.peek(), '?')) {
      this.next();
      const then = this.parseExpression();
      this.expectPunct(':', 'between the branches of a conditional (a ? b : c)');
      const otherwise = this.parseExpression();
      result = {
        kind: 'conditional',
        condition,
        then,
        else: otherwise,
        range: this.spanOf(condition, otherwise),
      };
    }
    this.leave();
    return result;
  }

  private spanOf(first: Expression, last: Expression): Range {
    return { start: first.range.start, end: last.range.end };
  }

  private parseBinary(level: number): Expression {
    const operators = binaryLevels[level];
    if (!operators) return this.parseUnary();
    let left = this.parseBinary(level + 1);
    let chain = 0;
    while (true) {
      const token = this.peek();
      if (token.type !== 'punct' || !operators.includes(token.value as BinaryOperator)) return left;
      this.next();
      // A left-associative chain nests its tree as deep as it is long.
      this.checkChain(token, ++chain);
      this.enter(token);
      const right = this.parseBinary(level + 1);
      this.leave();
      left = { kind: 'binary', operator: token.value as BinaryOperator, left, right, range: this.spanOf(left, right) };
    }
  }

  private parseUnary(): Expression {
    const token = this.peek();
    if (this.isPunct(token, '-') || this.isPunct(token, '!')) {
      this.next();
      this.enter(token);
      const operand = this.parseUnary();
      this.leave();
      return {
        kind: 'unary',
        operator: token.value as '-' | '!',
        operand,
        range: { start: this.map.position(token.start), end: operand.range.end },
      };
    }
    return this.parsePostfix(this.parseTerm());
  }

  /** Attribute access, indexing and splats after a term (spec, "Index Operator", "Splat Operators"). */
  private parsePostfix(term: Expression): Expression {
    let result = term;
    let chain = 0;
    while (true) {
      const token = this.peek();
      if (this.isPunct(token, '.') || this.isPunct(token, '[')) this.checkChain(token, ++chain);
      if (this.isPunct(token, '.')) {
        this.next();
        const name = this.next();
        if (this.isPunct(name, '*')) {
          result = this.parseSplat(result, name.end, false);
          continue;
        }
        if (name.type === 'ident') {
          result = { kind: 'getAttr', object: result, name: name.value, range: { start: result.range.start, end: this.map.position(name.end) } };
          continue;
        }
        if (name.type === 'number') {
          result = this.legacyIndexes(result, name);
          continue;
        }
        throw this.errorAt(name, `Expected an attribute name after ".", found ${describe(name)}`);
      }
      if (this.isPunct(token, '[')) {
        this.next();
        if (
          this.isPunct(
            this.withNewlines(true, () => this.peek()),
            '*',
          )
        ) {
          this.withNewlines(true, () => this.next());
          const close = this.withNewlines(true, () => this.expectPunct(']', 'to close the splat "[*]"'));
          result = this.parseSplat(result, close.end, true);
          continue;
        }
        this.enter(token);
        const key = this.withNewlines(true, () => this.parseExpression());
        const close = this.withNewlines(true, () => this.expectPunct(']', 'to close the index'));
        this.leave();
        result = { kind: 'index', object: result, key, range: { start: result.range.start, end: this.map.position(close.end) } };
        continue;
      }
      return result;
    }
  }

  /** `a.0.1` scans as `a`, `.`, `0.1`: each digit group is an index (the spec's legacy index). */
  private legacyIndexes(object: Expression, token: Token): Expression {
    if (!/^\d+(\.\d+)?$/.test(token.value)) throw this.errorAt(token, `Invalid legacy index "${token.value}" after "."`);
    let result = object;
    let offset = token.start;
    for (const digits of token.value.split('.')) {
      const end = offset + digits.length;
      result = {
        kind: 'index',
        object: result,
        key: { kind: 'literal', value: Number(digits), range: this.range(offset, end) },
        range: { start: result.range.start, end: this.map.position(end) },
      };
      offset = end + 1;
    }
    return result;
  }

  /** A splat applies the traversal that follows it (attributes only for `.*`) to each item. */
  private parseSplat(source: Expression, end: number, full: boolean): Expression {
    let each: Expression = { kind: 'splatItem', range: this.range(end, end) };
    let last = end;
    while (true) {
      const token = this.peekRaw();
      if (this.isPunct(token, '.')) {
        const name = this.tokens[this.index + 1];
        if (name?.type === 'ident') {
          this.next();
          this.next();
          each = { kind: 'getAttr', object: each, name: name.value, range: this.range(end, name.end) };
          last = name.end;
          continue;
        }
        if (name?.type === 'number' && full) {
          this.next();
          this.next();
          each = this.legacyIndexes(each, name);
          last = name.end;
          continue;
        }
        if (name && this.isPunct(name, '*')) throw this.errorAt(name, 'A splat cannot follow another splat directly');
        break;
      }
      if (full && this.isPunct(token, '[')) {
        const following = this.tokens[this.index + 1];
        if (following && this.isPunct(following, '*')) throw this.errorAt(following, 'A splat cannot follow another splat directly');
        this.next();
        this.enter(token);
        const key = this.withNewlines(true, () => this.parseExpression());
        const close = this.withNewlines(true, () => this.expectPunct(']', 'to close the index'));
        this.leave();
        each = { kind: 'index', object: each, key, range: this.range(end, close.end) };
        last = close.end;
        continue;
      }
      break;
    }
    return { kind: 'splat', source, each, range: { start: source.range.start, end: this.map.position(last) } };
  }

  private parseTerm(): Expression {
    const token = this.next();
    switch (token.type) {
      case 'number':
        return { kind: 'literal', value: Number(token.value), range: this.range(token.start, token.end) };
      case 'ident':
        return this.parseIdentTerm(token);
      case 'oquote':
        return this.parseTemplate(token, 'cquote');
      case 'oheredoc':
        return this.parseTemplate(token, 'cheredoc');
      case 'punct':
        if (token.value === '(') return this.parseParens(token);
        if (token.value === '[') return this.parseTuple(token);
        if (token.value === '{') return this.parseObject(token);
        break;
      default:
        break;
    }
    throw this.errorAt(token, `Expected an expression, found ${describe(token)}`);
  }

  private parseIdentTerm(token: Token): Expression {
    const range = this.range(token.start, token.end);
    if (token.value === 'true' || token.value === 'false') return { kind: 'literal', value: token.value === 'true', range };
    if (token.value === 'null') return { kind: 'literal', value: null, range };
    const after = this.peek();
    if (this.isPunct(after, '(')) return this.parseCall(token);
    if (after.type === 'punct' && after.value === ':' && this.isPunct(this.tokens[this.index + 1] as Token, ':')) {
      throw this.errorAt(after, 'Namespaced functions (provider::name) are not supported');
    }
    return { kind: 'variable', name: token.value, range };
  }

  private parseCall(name: Token): Expression {
    const open = this.next();
    this.enter(open);
    const args: Expression[] = [];
    let expandFinal = false;
    const close = this.withNewlines(true, () => {
      while (true) {
        const token = this.peek();
        if (this.isPunct(token, ')')) return this.next();
        if (expandFinal) throw this.errorAt(token, 'Expected ")" after the expanded final argument ("...")');
        args.push(this.parseExpression());
        const separator = this.next();
        if (this.isPunct(separator, ')')) return separator;
        if (this.isPunct(separator, '...')) {
          expandFinal = true;
          continue;
        }
        if (!this.isPunct(separator, ',')) {
          throw this.errorAt(separator, `Expected "," or ")" in the arguments of ${name.value}(), found ${describe(separator)}`);
        }
      }
    });
    this.leave();
    return { kind: 'call', name: name.value, args, expandFinal, range: this.range(name.start, close.end) };
  }

  private parseParens(open: Token): Expression {
    this.enter(open);
    const expression = this.withNewlines(true, () => this.parseExpression());
    const close = this.withNewlines(true, () => this.expectPunct(')', 'to close the parenthesis'));
    this.leave();
    return { kind: 'parens', expression, range: this.range(open.start, close.end) };
  }

  private parseTuple(open: Token): Expression {
    this.enter(open);
    const result = this.withNewlines(true, (): Expression => {
      const first = this.peek();
      if (first.type === 'ident' && first.value === 'for' && this.startsFor()) return this.parseFor(open, ']');
      const items: Expression[] = [];
      while (true) {
        const token = this.peek();
        if (this.isPunct(token, ']')) {
          this.next();
          return { kind: 'tuple', items, range: this.range(open.start, token.end) };
        }
        items.push(this.parseExpression());
        const separator = this.next();
        if (this.isPunct(separator, ']')) return { kind: 'tuple', items, range: this.range(open.start, separator.end) };
        if (!this.isPunct(separator, ',')) {
          throw this.errorAt(separator, `Expected "," or "]" between tuple items, found ${describe(separator)}`);
        }
      }
    });
    this.leave();
    return result;
  }

  /** `for` opens a for expression when followed by a name (`for x in`, `for k, v in`). */
  private startsFor(): boolean {
    let at = this.index;
    while (this.tokens[at]?.type === 'newline') at++;
    at++;
    while (this.tokens[at]?.type === 'newline') at++;
    return this.tokens[at]?.type === 'ident';
  }

  private parseObject(open: Token): Expression {
    this.enter(open);
    const result = this.withNewlines(false, (): Expression => {
      let first = this.peek();
      while (first.type === 'newline') {
        this.next();
        first = this.peek();
      }
      if (first.type === 'ident' && first.value === 'for' && this.startsFor()) {
        return this.withNewlines(true, () => this.parseFor(open, '}'));
      }
      const items: Array<{ key: Expression; value: Expression }> = [];
      while (true) {
        let token = this.peek();
        while (token.type === 'newline') {
          this.next();
          token = this.peek();
        }
        if (this.isPunct(token, '}')) {
          this.next();
          return { kind: 'object', items, range: this.range(open.start, token.end) };
        }
        const key = this.parseObjectKey();
        const equals = this.next();
        if (!this.isPunct(equals, '=') && !this.isPunct(equals, ':')) {
          throw this.errorAt(equals, `Expected "=" or ":" after an object key, found ${describe(equals)}`);
        }
        const value = this.parseExpression();
        items.push({ key, value });
        const separator = this.peek();
        if (this.isPunct(separator, ',') || separator.type === 'newline') {
          this.next();
          continue;
        }
        if (this.isPunct(separator, '}')) continue;
        throw this.errorAt(separator, `Expected a newline, "," or "}" after an object item, found ${describe(separator)}`);
      }
    });
    this.leave();
    return result;
  }

  /** A bare name as a key is the string itself (`{ a = 1 }`); any other key is an expression. */
  private parseObjectKey(): Expression {
    const key = this.parseExpression();
    if (key.kind === 'variable') return { kind: 'literal', value: key.name, range: key.range };
    return key;
  }

  private parseFor(open: Token, close: ']' | '}'): Expression {
    this.next(); // `for`
    const first = this.next();
    if (first.type !== 'ident') throw this.errorAt(first, `Expected a variable name after "for", found ${describe(first)}`);
    let keyVariable: string | null = null;
    let valueVariable = first.value;
    if (this.isPunct(this.peek(), ',')) {
      this.next();
      const second = this.next();
      if (second.type !== 'ident') throw this.errorAt(second, `Expected a variable name after ",", found ${describe(second)}`);
      keyVariable = first.value;
      valueVariable = second.value;
    }
    const inKeyword = this.next();
    if (inKeyword.type !== 'ident' || inKeyword.value !== 'in') {
      throw this.errorAt(inKeyword, `Expected "in" in the for expression, found ${describe(inKeyword)}`);
    }
    const collection = this.parseExpression();
    this.expectPunct(':', 'after the collection of a for expression');
    let keyExpression: Expression | null = null;
    let valueExpression = this.parseExpression();
    if (close === '}') {
      this.expectPunct('=>', 'between the key and value of an object for expression ({ for k, v in x : k => v })');
      keyExpression = valueExpression;
      valueExpression = this.parseExpression();
    } else if (this.isPunct(this.peek(), '=>')) {
      throw this.errorAt(this.peek(), 'A tuple for expression ([for ...]) takes a single value, not key => value');
    }
    let grouping = false;
    if (close === '}' && this.isPunct(this.peek(), '...')) {
      this.next();
      grouping = true;
    }
    let condition: Expression | null = null;
    const maybeIf = this.peek();
    if (maybeIf.type === 'ident' && maybeIf.value === 'if') {
      this.next();
      condition = this.parseExpression();
    }
    const end = this.expectPunct(close, `to close the for expression`);
    return {
      kind: 'for',
      keyVariable,
      valueVariable,
      collection,
      keyExpression,
      valueExpression,
      condition,
      grouping,
      range: this.range(open.start, end.end),
    };
  }

  /** A quoted string or heredoc: literal text and `${...}` interpolations (spec, "Templates"). */
  private parseTemplate(open: Token, closeType: 'cquote' | 'cheredoc'): Expression {
    this.enter(open);
    // Literal pieces keep whether they start a heredoc line, for `<<-` indentation stripping.
    const pieces: Array<{ text: string; lineStart: boolean } | { expression: Expression; lineStart: boolean; stripBefore: boolean; stripAfter: boolean }> = [];
    let lineStart = true;
    let close: Token;
    while (true) {
      const token = this.peekRaw();
      if (token.type === closeType) {
        close = this.next();
        break;
      }
      if (token.type === 'lit') {
        this.next();
        pieces.push({ text: token.value, lineStart });
        lineStart = token.value.endsWith('\n');
        continue;
      }
      if (token.type === 'control') {
        throw this.errorAt(
          token,
          'Template directives (%{if}, %{for}) are not supported: use a conditional (a ? b : c) or a for expression inside an interpolation, or write %%{ for a literal "%{"',
        );
      }
      if (token.type === 'interp') {
        this.next();
        const expression = this.withNewlines(true, () => this.parseExpression());
        const end = this.withNewlines(true, () => this.next());
        if (end.type !== 'templateEnd') throw this.errorAt(end, `Expected "}" to close the interpolation, found ${describe(end)}`);
        pieces.push({ expression, lineStart, stripBefore: token.strip === true, stripAfter: end.strip === true });
        lineStart = false;
        continue;
      }
      throw this.errorAt(token, `Unexpected ${describe(token)} in a string`);
    }
    if (open.type === 'oheredoc' && open.flush) flushIndentation(pieces);
    // Strip markers: `${~` trims the text before, `~}` the text after (spec, "Template Interpolations").
    for (let at = 0; at < pieces.length; at++) {
      const piece = pieces[at];
      if (!piece || !('expression' in piece)) continue;
      const before = pieces[at - 1];
      if (piece.stripBefore && before && 'text' in before) before.text = before.text.replace(/\s+$/u, '');
      const after = pieces[at + 1];
      if (piece.stripAfter && after && 'text' in after) after.text = after.text.replace(/^\s+/u, '');
    }
    const parts: Array<string | Expression> = [];
    for (const piece of pieces) {
      if ('expression' in piece) parts.push(piece.expression);
      else if (typeof parts[parts.length - 1] === 'string') parts[parts.length - 1] += piece.text;
      else if (piece.text !== '') parts.push(piece.text);
    }
    this.leave();
    const range = this.range(open.start, close.end);
    if (parts.every((part) => typeof part === 'string')) return { kind: 'literal', value: parts.join(''), range };
    return { kind: 'template', parts, range };
  }
}

/**
 * `<<-` heredocs: remove the smallest indentation of the lines from each line, as HCL does
 * (hclsyntax flushHeredocTemplateParts): whitespace-only lines do not count and keep theirs, and a
 * line starting with an interpolation has no indentation.
 */
function flushIndentation(pieces: Array<{ text: string; lineStart: boolean } | { expression: Expression; lineStart: boolean }>): void {
  let smallest = Number.POSITIVE_INFINITY;
  const adjust: Array<{ text: string; lineStart: boolean }> = [];
  for (const piece of pieces) {
    if (!piece.lineStart) continue;
    if ('text' in piece) {
      const trimmed = piece.text.replace(/^\s+/u, '');
      if (trimmed === '' && piece.text.endsWith('\n')) continue;
      smallest = Math.min(smallest, [...piece.text.slice(0, piece.text.length - trimmed.length)].length);
      adjust.push(piece);
    } else {
      smallest = 0;
    }
  }
  if (!Number.isFinite(smallest) || smallest === 0) return;
  for (const piece of adjust) piece.text = [...piece.text].slice(smallest).join('');
}

function describe(token: Token): string {
  switch (token.type) {
    case 'eof':
      return 'the end of the file';
    case 'newline':
      return 'a newline';
    case 'oquote':
    case 'cquote':
      return 'a quote';
    case 'lit':
      return 'a string';
    case 'oheredoc':
      return 'a heredoc';
    case 'interp':
      return '"${"';
    case 'control':
      return '"%{"';
    case 'templateEnd':
      return '"}"';
    default:
      return `"${token.value}"`;
  }
}
