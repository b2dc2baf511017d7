// Reads declared variables from the environment, collecting every problem (each naming its
// variable) instead of stopping at the first, so an operator fixes them all in one pass.
import type { z } from 'zod';
import { metaOf, requirementOf, type VariableMeta } from './declarations';

export type Environment = Record<string, string | undefined>;

export interface ConfigIssue {
  variable: string;
  message: string;
}

export function describeExpected(meta: VariableMeta, raw: string): string {
  // Never echo a secret's value back, even in an error.
  const shown = meta.secret ? '(hidden)' : JSON.stringify(raw.length > 80 ? `${raw.slice(0, 80)}…` : raw);
  return `expected ${meta.expected}, got ${shown}`;
}

export class EnvironmentReader {
  readonly issues: ConfigIssue[] = [];
  readonly notApplicable: ConfigIssue[] = [];
  // A variable read twice (a selector of a requirement, SSO_PROVIDERS) is parsed and reported once.
  private readonly parsed = new Map<string, unknown>();

  constructor(private readonly env: Environment) {}

  /** The raw value; an empty string counts as unset, as in env files. */
  raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value === '' ? undefined : value;
  }

  /**
   * Parses `name` with its declared schema: the value, its default, or undefined when unset or
   * invalid (then an issue is recorded). `requiredFor` words the issue of a required variable left unset.
   */
  parse<S extends z.ZodType>(name: string, schema: S, requiredFor?: string): z.output<S> | undefined {
    if (this.parsed.has(name)) return this.parsed.get(name) as z.output<S> | undefined;
    const value = this.parseOnce(name, schema, metaOf(schema), requiredFor);
    this.parsed.set(name, value);
    return value;
  }

  /** Records that `name` is required (`reason`: "when ...", "for ...") when it is unset. */
  private requireSet(name: string, reason: string): void {
    if (this.raw(name) === undefined) this.issues.push({ variable: name, message: `is required ${reason}` });
  }

  private parseOnce<S extends z.ZodType>(name: string, schema: S, meta: VariableMeta, requiredFor: string | undefined): z.output<S> | undefined {
    const raw = this.raw(name);
    const requirement = requirementOf(schema);
    if (requirement) {
      const { selector, values } = requirement;
      const selectorName = metaOf(selector).name;
      const selected = this.parse(selectorName, selector);
      if (values.includes(selected)) this.requireSet(name, `when ${selectorName} is ${String(selected)}`);
    }
    const result = schema.safeParse(raw);
    if (!result.success) {
      if (raw === undefined && meta.default === undefined)
        this.issues.push({ variable: name, message: requiredFor ? `is required ${requiredFor}` : 'is required' });
      else this.issues.push({ variable: name, message: describeExpected(meta, raw ?? meta.default!) });
      return undefined;
    }
    if (meta.notApplicable !== undefined && raw !== undefined) this.notApplicable.push({ variable: name, message: meta.notApplicable });
    return result.data;
  }

  /** Indices n for which any `${prefix}_<n>_*` variable is set, ascending. */
  indices(prefix: string): number[] {
    const pattern = new RegExp(`^${prefix}_(\\d+)_`);
    const found = new Set<number>();
    for (const name of Object.keys(this.env)) {
      const match = pattern.exec(name);
      if (match && this.raw(name) !== undefined) found.add(Number(match[1]));
    }
    return [...found].sort((a, b) => a - b);
  }

  /** Every set variable starting with `prefix`, keyed by the rest of its name. */
  withPrefix(prefix: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const name of Object.keys(this.env)) {
      const value = this.raw(name);
      if (name.startsWith(prefix) && value !== undefined) out[name.slice(prefix.length)] = value;
    }
    return out;
  }
}
