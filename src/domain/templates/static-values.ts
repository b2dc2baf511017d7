// Values a template must give as constants, read straight from the syntax tree: a stage's `when`,
// a task's `interval`, a variable's `default`... These are fixed when the template is uploaded (the
// engine plans stages and gates from them), so an expression that needs evaluating is a problem
// to report, not something to run.
import type { Expression } from './hcl/ast';

export type StaticValue = { ok: true; value: unknown } | { ok: false };

const notStatic: StaticValue = { ok: false };

/** The value of an expression made of literals only (strings, numbers, bools, null, lists, objects). */
export function staticValue(expression: Expression): StaticValue {
  switch (expression.kind) {
    case 'literal':
      return { ok: true, value: expression.value };
    case 'parens':
      return staticValue(expression.expression);
    case 'template': {
      let text = '';
      for (const part of expression.parts) {
        if (typeof part === 'string') text += part;
        else {
          const inner = staticValue(part);
          if (!inner.ok || typeof inner.value !== 'string') return notStatic;
          text += inner.value;
        }
      }
      return { ok: true, value: text };
    }
    case 'unary': {
      const operand = staticValue(expression.operand);
      if (!operand.ok) return notStatic;
      if (expression.operator === '-' && typeof operand.value === 'number') return { ok: true, value: -operand.value };
      if (expression.operator === '!' && typeof operand.value === 'boolean') return { ok: true, value: !operand.value };
      return notStatic;
    }
    case 'tuple': {
      const values: unknown[] = [];
      for (const item of expression.items) {
        const value = staticValue(item);
        if (!value.ok) return notStatic;
        values.push(value.value);
      }
      return { ok: true, value: values };
    }
    case 'object': {
      const values: Record<string, unknown> = {};
      for (const item of expression.items) {
        const key = objectKey(item.key);
        const value = staticValue(item.value);
        if (key === undefined || !value.ok) return notStatic;
        values[key] = value.value;
      }
      return { ok: true, value: values };
    }
    default:
      return notStatic;
  }
}

/** An object key as HCL reads it: a bare name is the name itself, not a reference. */
export function objectKey(expression: Expression): string | undefined {
  if (expression.kind === 'variable') return expression.name;
  const key = staticValue(expression);
  return key.ok && (typeof key.value === 'string' || typeof key.value === 'number') ? String(key.value) : undefined;
}

const durationPattern = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** Seconds in a duration such as "30s", "2m", "1h" or "1h30m"; undefined when it is not one, or zero. */
export function durationSeconds(text: string): number | undefined {
  const match = durationPattern.exec(text);
  if (!match || text === '') return undefined;
  const [, hours = '0', minutes = '0', seconds = '0'] = match;
  const total = Number(hours) * 3600 + Number(minutes) * 60 + Number(seconds);
  return total > 0 && Number.isSafeInteger(total) ? total : undefined;
}
