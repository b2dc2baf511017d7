// The syntax tree of HCL's native syntax as the template parser produces it. Plain JSON (no
// classes, no functions), so a compiled template, expressions included, can be stored in a jsonb
// column and evaluated later by the pure evaluator. Names follow the HCL native syntax
// specification (hclsyntax): bodies hold attributes and blocks; expressions are the spec's
// expression terms and operations.

/** 1-based line and column (columns count Unicode code points), 0-based byte-independent offset. */
export interface Position {
  line: number;
  column: number;
  offset: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export interface Body {
  /** Attributes and blocks in source order (stage order falls back to file order). */
  items: Array<Attribute | Block>;
  range: Range;
}

export interface Attribute {
  type: 'attribute';
  name: string;
  nameRange: Range;
  expression: Expression;
  range: Range;
}

export interface Block {
  type: 'block';
  blockType: string;
  /** Labels as written, quoted or bare (`plugin exec {}` and `plugin "exec" {}` both give "exec"). */
  labels: string[];
  labelRanges: Range[];
  body: Body;
  range: Range;
}

export type BinaryOperator = '||' | '&&' | '==' | '!=' | '<' | '<=' | '>' | '>=' | '+' | '-' | '*' | '/' | '%';

export type Expression =
  | { kind: 'literal'; value: string | number | boolean | null; range: Range }
  /** A quoted string or heredoc with interpolations; `parts` alternate freely between text and expressions. */
  | { kind: 'template'; parts: Array<string | Expression>; range: Range }
  /** A bare name at the root of a traversal: `var`, `action_outputs`, `each`... */
  | { kind: 'variable'; name: string; range: Range }
  | { kind: 'getAttr'; object: Expression; name: string; range: Range }
  | { kind: 'index'; object: Expression; key: Expression; range: Range }
  /** `x[*].a` and `x.*.a`: `each` is evaluated with the splat item as `source`. */
  | { kind: 'splat'; source: Expression; each: Expression; range: Range }
  /** The item placeholder inside a splat's `each`. */
  | { kind: 'splatItem'; range: Range }
  | { kind: 'tuple'; items: Expression[]; range: Range }
  | { kind: 'object'; items: Array<{ key: Expression; value: Expression }>; range: Range }
  | { kind: 'call'; name: string; args: Expression[]; expandFinal: boolean; range: Range }
  | { kind: 'unary'; operator: '-' | '!'; operand: Expression; range: Range }
  | { kind: 'binary'; operator: BinaryOperator; left: Expression; right: Expression; range: Range }
  | { kind: 'conditional'; condition: Expression; then: Expression; else: Expression; range: Range }
  | {
      kind: 'for';
      keyVariable: string | null;
      valueVariable: string;
      collection: Expression;
      /** Present for `{ for ... : k => v }`, absent for `[ for ... : v ]`. */
      keyExpression: Expression | null;
      valueExpression: Expression;
      condition: Expression | null;
      grouping: boolean;
      range: Range;
    }
  | { kind: 'parens'; expression: Expression; range: Range };
