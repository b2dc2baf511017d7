// The scanner of HCL's native syntax (hclsyntax spec, "Lexical Elements"). Like HashiCorp's
// scanner it is modal: normal tokens, quoted templates and heredoc templates, with a stack of open
// braces so a `}` knows whether it closes an object/block or a `${` interpolation. One pass, no
// recursion, so its time is linear in the input and nesting cannot overflow the stack.
import type { Position } from './ast';
import { HclSyntaxError } from './errors';

export type TokenType =
  | 'ident'
  | 'number'
  | 'punct'
  | 'newline'
  /** `"` opening or closing a quoted template. */
  | 'oquote'
  | 'cquote'
  /** Literal text of a template, escapes already decoded. */
  | 'lit'
  /** `${` (strip: `${~`). */
  | 'interp'
  /** `%{` (strip: `%{~`): a template directive. */
  | 'control'
  /** `}` closing an interpolation or directive (strip: `~}`). */
  | 'templateEnd'
  | 'oheredoc'
  | 'cheredoc'
  | 'eof';

export interface Token {
  type: TokenType;
  /** Identifier/number/operator text, or a template literal's decoded value. */
  value: string;
  start: number;
  end: number;
  /** `${~`, `%{~` and `~}`. */
  strip?: boolean;
  /** Heredocs: `<<-` strips the common indentation. */
  flush?: boolean;
}

/** Maps string offsets (UTF-16 code units) to 1-based line and code-point column. */
export class SourceMap {
  private readonly lineStarts: number[] = [0];
  private readonly codePoints: Int32Array;

  constructor(readonly source: string) {
    const counts = new Int32Array(source.length + 1);
    let points = 0;
    for (let i = 0; i < source.length; i++) {
      counts[i] = points;
      const unit = source.charCodeAt(i);
      // The low half of a surrogate pair does not start a new code point.
      if (!(unit >= 0xdc00 && unit <= 0xdfff && i > 0 && isHighSurrogate(source.charCodeAt(i - 1)))) points++;
      if (unit === 10) this.lineStarts.push(i + 1);
    }
    counts[source.length] = points;
    this.codePoints = counts;
  }

  position(offset: number): Position {
    const clamped = Math.max(0, Math.min(offset, this.source.length));
    let low = 0;
    let high = this.lineStarts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if ((this.lineStarts[middle] ?? 0) <= clamped) low = middle;
      else high = middle - 1;
    }
    const lineStart = this.lineStarts[low] ?? 0;
    return {
      line: low + 1,
      column: (this.codePoints[clamped] ?? 0) - (this.codePoints[lineStart] ?? 0) + 1,
      offset: clamped,
    };
  }

  error(message: string, offset: number): HclSyntaxError {
    const { line, column } = this.position(offset);
    return new HclSyntaxError(message, line, column);
  }
}

function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

const identStart = /[\p{ID_Start}_]/u;
const identContinue = /[\p{ID_Continue}-]/u;

/** Operators, longest first so `<=` wins over `<`. */
const operators = [
  '...',
  '==',
  '!=',
  '<=',
  '>=',
  '&&',
  '||',
  '=>',
  '{',
  '}',
  '[',
  ']',
  '(',
  ')',
  ',',
  '.',
  '=',
  ':',
  '?',
  '!',
  '+',
  '-',
  '*',
  '/',
  '%',
  '<',
  '>',
];

type Mode = { kind: 'brace' } | { kind: 'interp' } | { kind: 'quote' } | { kind: 'heredoc'; marker: string; lineStart: boolean };

/** Scans `source` into tokens; throws HclSyntaxError at the first invalid character or unterminated string. */
export function tokenize(source: string, map: SourceMap = new SourceMap(source)): Token[] {
  const tokens: Token[] = [];
  const stack: Mode[] = [];
  let i = 0;
  const length = source.length;

  const codePointAt = (at: number): string => String.fromCodePoint(source.codePointAt(at) ?? 0);

  while (true) {
    const mode = stack[stack.length - 1];
    if (mode?.kind === 'quote') {
      i = scanQuoted(i);
      continue;
    }
    if (mode?.kind === 'heredoc') {
      i = scanHeredoc(i, mode);
      continue;
    }
    if (i >= length) {
      if (mode) throw map.error(mode.kind === 'interp' ? 'Unterminated template interpolation: missing "}"' : 'Unclosed "{"', i);
      tokens.push({ type: 'eof', value: '', start: i, end: i });
      return tokens;
    }
    const char = source[i] as string;
    // Whitespace other than newlines separates tokens.
    if (char === ' ' || char === '\t' || (char === '\r' && source[i + 1] !== '\n')) {
      i++;
      continue;
    }
    if (char === '\n' || char === '\r') {
      const end = char === '\r' ? i + 2 : i + 1;
      tokens.push({ type: 'newline', value: '\n', start: i, end });
      i = end;
      continue;
    }
    if (char === '#' || (char === '/' && source[i + 1] === '/')) {
      // A line comment runs to the end of the line; the newline stays a token, as in HCL.
      while (i < length && source[i] !== '\n' && !(source[i] === '\r' && source[i + 1] === '\n')) i++;
      continue;
    }
    if (char === '/' && source[i + 1] === '*') {
      const close = source.indexOf('*/', i + 2);
      if (close < 0) throw map.error('Unterminated comment: "/*" without "*/"', i);
      i = close + 2;
      continue;
    }
    if (char >= '0' && char <= '9') {
      const start = i;
      while (i < length && isDigit(source[i])) i++;
      if (source[i] === '.' && isDigit(source[i + 1])) {
        i++;
        while (i < length && isDigit(source[i])) i++;
      }
      if (
        (source[i] === 'e' || source[i] === 'E') &&
        (isDigit(source[i + 1]) || ((source[i + 1] === '+' || source[i + 1] === '-') && isDigit(source[i + 2])))
      ) {
        i += 2;
        while (i < length && isDigit(source[i])) i++;
      }
      tokens.push({ type: 'number', value: source.slice(start, i), start, end: i });
      continue;
    }
    const point = codePointAt(i);
    if (identStart.test(point)) {
      const start = i;
      i += point.length;
      while (i < length) {
        const next = codePointAt(i);
        if (!identContinue.test(next)) break;
        i += next.length;
      }
      tokens.push({ type: 'ident', value: source.slice(start, i), start, end: i });
      continue;
    }
    if (char === '"') {
      tokens.push({ type: 'oquote', value: '"', start: i, end: i + 1 });
      stack.push({ kind: 'quote' });
      i++;
      continue;
    }
    if (char === '<' && source[i + 1] === '<') {
      i = scanHeredocStart(i);
      continue;
    }
    if (char === '~' && source[i + 1] === '}' && mode?.kind === 'interp') {
      stack.pop();
      tokens.push({ type: 'templateEnd', value: '}', start: i, end: i + 2, strip: true });
      i += 2;
      continue;
    }
    if (char === '{') stack.push({ kind: 'brace' });
    if (char === '}') {
      if (mode?.kind === 'interp') {
        stack.pop();
        tokens.push({ type: 'templateEnd', value: '}', start: i, end: i + 1 });
        i++;
        continue;
      }
      if (mode?.kind === 'brace') stack.pop();
    }
    const operator = operators.find((candidate) => source.startsWith(candidate, i));
    if (!operator) throw map.error(`Invalid character ${JSON.stringify(point)}`, i);
    tokens.push({ type: 'punct', value: operator, start: i, end: i + operator.length });
    i += operator.length;
  }

  function isDigit(char: string | undefined): boolean {
    return char !== undefined && char >= '0' && char <= '9';
  }

  /** `${`, `${~`, `%{`, `%{~` at `at`: pushes the token and the mode; returns the offset after it. */
  function openSequence(at: number): number {
    const control = source[at] === '%';
    const strip = source[at + 2] === '~';
    const end = at + (strip ? 3 : 2);
    tokens.push({ type: control ? 'control' : 'interp', value: control ? '%{' : '${', start: at, end, strip });
    stack.push({ kind: 'interp' });
    return end;
  }

  function pushLiteral(value: string, start: number, end: number): void {
    if (end > start) tokens.push({ type: 'lit', value, start, end });
  }

  function scanQuoted(from: number): number {
    let at = from;
    let value = '';
    while (true) {
      if (at >= length) throw map.error('Unterminated template string: missing closing "', from);
      const char = source[at] as string;
      if (char === '"') {
        pushLiteral(value, from, at);
        tokens.push({ type: 'cquote', value: '"', start: at, end: at + 1 });
        stack.pop();
        return at + 1;
      }
      if (char === '\n' || char === '\r') {
        throw map.error('Quoted strings may not be split over multiple lines; use the \\n escape or a heredoc (<<EOF) for multi-line text', at);
      }
      if ((char === '$' || char === '%') && source[at + 1] === char && source[at + 2] === '{') {
        value += `${char}{`;
        at += 3;
        continue;
      }
      if ((char === '$' || char === '%') && source[at + 1] === '{') {
        pushLiteral(value, from, at);
        return openSequence(at);
      }
      if (char === '\\') {
        const [decoded, next] = decodeEscape(at);
        value += decoded;
        at = next;
        continue;
      }
      value += char;
      at++;
    }
  }

  function decodeEscape(at: number): [string, number] {
    const next = source[at + 1];
    switch (next) {
      case 'n':
        return ['\n', at + 2];
      case 'r':
        return ['\r', at + 2];
      case 't':
        return ['\t', at + 2];
      case '"':
        return ['"', at + 2];
      case '\\':
        return ['\\', at + 2];
      case 'u':
      case 'U': {
        const digits = next === 'u' ? 4 : 8;
        const hex = source.slice(at + 2, at + 2 + digits);
        if (hex.length !== digits || !/^[0-9a-fA-F]+$/.test(hex)) {
          throw map.error(`Invalid escape sequence: \\${next} needs ${digits} hexadecimal digits`, at);
        }
        const code = Number.parseInt(hex, 16);
        if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
          throw map.error(`Invalid escape sequence: \\${next}${hex} is not a Unicode character`, at);
        }
        return [String.fromCodePoint(code), at + 2 + digits];
      }
      default:
        throw map.error(`Invalid escape sequence ${JSON.stringify(`\\${next ?? ''}`)}: the escapes are \\n \\r \\t \\" \\\\ \\uXXXX \\UXXXXXXXX`, at);
    }
  }

  function scanHeredocStart(at: number): number {
    const flush = source[at + 2] === '-';
    let cursor = at + (flush ? 3 : 2);
    const markerStart = cursor;
    if (cursor < length && identStart.test(codePointAt(cursor))) {
      cursor += codePointAt(cursor).length;
      while (cursor < length && identContinue.test(codePointAt(cursor))) cursor += codePointAt(cursor).length;
    }
    const marker = source.slice(markerStart, cursor);
    const newline = source[cursor] === '\n' ? 1 : source[cursor] === '\r' && source[cursor + 1] === '\n' ? 2 : 0;
    if (!marker || !newline) {
      throw map.error('Invalid heredoc: "<<" or "<<-" must be followed by a marker name and a newline, as in <<EOT', at);
    }
    tokens.push({ type: 'oheredoc', value: marker, start: at, end: cursor + newline, flush });
    stack.push({ kind: 'heredoc', marker, lineStart: true });
    return cursor + newline;
  }

  function scanHeredoc(from: number, mode: Extract<Mode, { kind: 'heredoc' }>): number {
    let at = from;
    if (mode.lineStart) {
      let cursor = at;
      while (source[cursor] === ' ' || source[cursor] === '\t') cursor++;
      if (source.startsWith(mode.marker, cursor)) {
        const after = cursor + mode.marker.length;
        if (after >= length || source[after] === '\n' || (source[after] === '\r' && source[after + 1] === '\n')) {
          tokens.push({ type: 'cheredoc', value: mode.marker, start: at, end: after });
          stack.pop();
          return after;
        }
      }
    }
    mode.lineStart = false;
    let value = '';
    while (true) {
      if (at >= length) throw map.error(`Unterminated heredoc: no closing line "${mode.marker}"`, from);
      const char = source[at] as string;
      if (char === '\n') {
        value += char;
        at++;
        pushLiteral(value, from, at);
        mode.lineStart = true;
        return at;
      }
      if ((char === '$' || char === '%') && source[at + 1] === char && source[at + 2] === '{') {
        value += `${char}{`;
        at += 3;
        continue;
      }
      if ((char === '$' || char === '%') && source[at + 1] === '{') {
        pushLiteral(value, from, at);
        return openSequence(at);
      }
      value += char;
      at++;
    }
  }
}
