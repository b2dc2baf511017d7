// A pipeline's variables, checked against its template's `variable` blocks when it is created:
// every value must name a declared variable and convert to its type; a variable without a default
// must be given. Sensitive values are split off to be sealed (secrets.ts) and are never returned.
import { badInput } from '../../errors';
import type { PipelineTemplate } from '../templates/model';
import { convertToVariableType, ExpressionError } from './expressions';

export interface ResolvedVariables {
  /** Non-sensitive values, stored and shown as they are. */
  plain: Record<string, unknown>;
  /** Sensitive values, sealed at rest; empty when the template declares none. */
  sensitive: Record<string, unknown>;
}

const maxVariablesBytes = 256 * 1024;
/** Levels of lists and objects in one value: Postgres refuses jsonb nested much deeper (a 500). */
const maxValueDepth = 64;

/** Whether `value` nests lists and objects deeper than maxValueDepth (iterative: the value may be arbitrarily deep). */
function tooDeep(value: unknown): boolean {
  const pending: Array<[unknown, number]> = [[value, 0]];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const [current, depth] = item;
    if (current === null || typeof current !== 'object') continue;
    if (depth >= maxValueDepth) return true;
    for (const child of Object.values(current)) pending.push([child, depth + 1]);
  }
  return false;
}

/** `field` names the input in messages: `variables` for a pipeline, the node's path for a nested one. */
export function resolveVariables(template: PipelineTemplate, given: Record<string, unknown> | undefined, field = 'variables'): ResolvedVariables {
  const values = given ?? {};
  if (typeof values !== 'object' || values === null || Array.isArray(values)) throw badInput(field, 'must be an object of variable names to values');
  if (JSON.stringify(values).length > maxVariablesBytes) throw badInput(field, `at most ${maxVariablesBytes} bytes`);
  const declared = new Map(template.variables.map((variable) => [variable.name, variable]));
  const unknown = Object.keys(values).find((name) => !declared.has(name));
  if (unknown !== undefined) {
    const names = [...declared.keys()];
    throw badInput(`${field}.${unknown}`, `the template declares no variable ${unknown}${names.length > 0 ? ` (it declares ${names.join(', ')})` : ''}`);
  }
  const plain: Record<string, unknown> = {};
  const sensitive: Record<string, unknown> = {};
  for (const variable of template.variables) {
    const path = `${field}.${variable.name}`;
    let value: unknown;
    // null stands for no value, as in HCL: the default applies, or the variable is missing.
    if (Object.hasOwn(values, variable.name) && values[variable.name] !== null) {
      if (tooDeep(values[variable.name])) throw badInput(path, `lists and objects may be nested at most ${maxValueDepth} levels deep`);
      try {
        value = convertToVariableType(values[variable.name], variable.type, path, variable.sensitive);
      } catch (error) {
        if (error instanceof ExpressionError) throw badInput(path, error.message.replace(`${path}: `, ''));
        throw error;
      }
    } else if (variable.hasDefault) {
      value = variable.default;
    } else {
      throw badInput(path, 'required: the variable has no default');
    }
    (variable.sensitive ? sensitive : plain)[variable.name] = value;
  }
  return { plain, sensitive };
}
