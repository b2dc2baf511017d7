import type { Range } from './ast';

// The two errors of the HCL code: a template that does not parse, and an expression that cannot be
// evaluated. Both carry a 1-based line and column so the template validator can point at the problem.

export interface HclProblem {
  message: string;
  line: number;
  column: number;
}

export class HclSyntaxError extends Error {
  readonly line: number;
  readonly column: number;
  /** Every problem found; the first is also this error's own message, line and column. */
  readonly problems: HclProblem[];

  constructor(message: string, line: number, column: number, problems?: HclProblem[]) {
    super(`${message} (line ${line}, column ${column})`);
    this.name = 'HclSyntaxError';
    this.line = line;
    this.column = column;
    this.problems = problems ?? [{ message, line, column }];
  }

  /** The message without the position suffix. */
  get detail(): string {
    return this.problems[0]?.message ?? this.message;
  }
}

export class HclEvaluationError extends Error {
  readonly line: number;
  readonly column: number;
  readonly detail: string;

  constructor(message: string, line: number, column: number) {
    super(`${message} (line ${line}, column ${column})`);
    this.name = 'HclEvaluationError';
    this.line = line;
    this.column = column;
    this.detail = message;
  }
}

export function evaluationError(range: Range, message: string): HclEvaluationError {
  return new HclEvaluationError(message, range.start.line, range.start.column);
}
