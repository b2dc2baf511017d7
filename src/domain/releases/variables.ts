// A release's variables, given once when the release is cut and passed to every pipeline of it.
// The rule: each value must name a variable that at least one of the release's templates (the
// default one, the per-environment ones) declares, and must convert to the type of EVERY template
// that declares it; every variable a template declares without a default must be given (its
// deployments start by themselves, with no one to ask). A variable is sensitive when any template
// declares it sensitive: its value is sealed and never returned. What is stored is the value as
// given (each pipeline converts it to its own template's type again when it starts); defaults
// stay with the templates. Checking is the pipelines' own (pipelines/variables.ts).
import { badInput } from '../../errors';
import { resolveVariables } from '../pipelines/variables';
import type { PipelineTemplate } from '../templates/model';

export interface ReleaseVariables {
  plain: Record<string, unknown>;
  sensitive: Record<string, unknown>;
}

export function checkReleaseVariables(templates: readonly PipelineTemplate[], given: Record<string, unknown> | undefined): ReleaseVariables {
  const values = given ?? {};
  if (typeof values !== 'object' || values === null || Array.isArray(values)) throw badInput('variables', 'must be an object of variable names to values');
  const declared = new Set(templates.flatMap((template) => template.variables.map((variable) => variable.name)));
  const unknown = Object.keys(values).find((name) => !declared.has(name));
  if (unknown !== undefined) {
    throw badInput(`variables.${unknown}`, `the templates of the release declare no variable ${unknown}`);
  }
  const sensitiveNames = new Set<string>();
  for (const template of templates) {
    const own = new Set(template.variables.map((variable) => variable.name));
    // Types, nesting, size and required values, exactly as a pipeline of this template would check them.
    resolveVariables(template, Object.fromEntries(Object.entries(values).filter(([name]) => own.has(name))));
    for (const variable of template.variables) if (variable.sensitive) sensitiveNames.add(variable.name);
  }
  const plain: Record<string, unknown> = {};
  const sensitive: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(values)) {
    if (value === null) continue;
    (sensitiveNames.has(name) ? sensitive : plain)[name] = value;
  }
  return { plain, sensitive };
}

/** The values a pipeline of `template` gets from the release: those of the variables it declares. */
export function variablesForTemplate(template: PipelineTemplate, values: Record<string, unknown>): Record<string, unknown> {
  const own = new Set(template.variables.map((variable) => variable.name));
  return Object.fromEntries(Object.entries(values).filter(([name]) => own.has(name)));
}
