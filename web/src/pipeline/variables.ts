// Variable values for createPipeline are JSON texts (README "Pipelines over GraphQL"). People type a
// string variable's value as plain text; every other type is typed as JSON (42, true, [8000, 8001]).

export interface DeclaredVariable {
  name: string;
  type: string;
  hasDefault: boolean;
}

export type VariableEntry = { key: string; value: string };

/**
 * The variables to send: empty inputs are left out (the default applies); a missing required one or
 * a value that is not JSON is refused with `variables.<name>: …`, as the API words it.
 */
export function variablesToSend(
  declared: readonly DeclaredVariable[],
  values: Record<string, string>,
): { entries: VariableEntry[] } | { error: string; name: string } {
  const entries: VariableEntry[] = [];
  for (const variable of declared) {
    const raw = values[variable.name] ?? '';
    if (raw === '') {
      if (!variable.hasDefault) return { error: `variables.${variable.name}: a value is required (the variable has no default)`, name: variable.name };
      continue;
    }
    if (variable.type === 'string') {
      entries.push({ key: variable.name, value: JSON.stringify(raw) });
      continue;
    }
    try {
      JSON.parse(raw);
    } catch {
      return { error: `variables.${variable.name}: ${variable.type} values are written as JSON, e.g. ${exampleOf(variable.type)}`, name: variable.name };
    }
    entries.push({ key: variable.name, value: raw });
  }
  return { entries };
}

function exampleOf(type: string): string {
  if (type === 'number') return '42';
  if (type === 'bool') return 'true';
  if (type.startsWith('list') || type.startsWith('set') || type.startsWith('tuple')) return '["a", "b"]';
  return '{"key": "value"}';
}

/** The variable an API error names (`input.variables[1].value: …` or `variables.name: …`), if any. */
export function variableNamed(message: string, sent: readonly VariableEntry[]): string | undefined {
  const byIndex = /variables\[(\d+)\]/.exec(message);
  if (byIndex) return sent[Number(byIndex[1])]?.key;
  return /variables\.([A-Za-z_][\w-]*)/.exec(message)?.[1];
}
