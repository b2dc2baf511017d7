// The engine's one door to the expression language: action inputs, gate conditions, nested
// pipelines' template ids and variables are syntax trees (templates/hcl/ast.ts) evaluated by the
// HCL evaluator with the scope { var, action_outputs }, and variable values are converted to their
// declared types by HCL's rules. Both failures come out as ExpressionError, which the engine turns
// into a failed node (with the message in its event) or, for input, a bad request.
import type { Expression } from '../templates/hcl/ast';
import { HclEvaluationError } from '../templates/hcl/errors';
import { evaluate, type EvaluationBudget } from '../templates/hcl/evaluate';
import { convertToType, HclConversionError } from '../templates/hcl/types';
import type { TypeConstraint } from '../templates/model';

export interface ExpressionScope {
  var: Record<string, unknown>;
  action_outputs: Record<string, unknown>;
  /** `jwt.<name>`: a marker per jwt block, replaced by the minted token when the job starts (action inputs only). */
  jwt?: Record<string, string>;
}

export class ExpressionError extends Error {}

function translated<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof HclEvaluationError || error instanceof HclConversionError) throw new ExpressionError(error.message);
    throw error;
  }
}

/**
 * The value of `expression` in `scope`, its steps charged to `budget` (the transition's, shared by
 * every expression it evaluates); ExpressionError when it cannot be evaluated.
 */
export function evaluateExpression(expression: Expression, scope: ExpressionScope, budget: EvaluationBudget): unknown {
  const variables: Record<string, unknown> = { var: scope.var, action_outputs: scope.action_outputs };
  if (scope.jwt) variables.jwt = scope.jwt;
  return translated(() => evaluate(expression, { variables }, undefined, budget));
}

/**
 * `value` converted to the variable type `type` as HCL converts; ExpressionError naming `path`
 * otherwise (without quoting the value when it is `sensitive`).
 */
export function convertToVariableType(value: unknown, type: TypeConstraint, path: string, sensitive: boolean): unknown {
  return translated(() => convertToType(value, type, path, sensitive));
}
