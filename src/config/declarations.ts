// How a configuration variable is declared: one zod schema per variable, registered with its
// metadata (name, group, description, default, secret, ...). The same declaration parses the value,
// gives the parsed configuration its TypeScript type (ConfigOf) and writes README's reference row.
import { z } from 'zod';
import type { EnvironmentReader } from './environment-reader';
import type { VariableKind } from './kinds';

/** A variable that must be set when another variable (the selector) has one of some values. */
interface Requirement {
  selector: z.ZodType;
  values: readonly unknown[];
}

export interface VariableMeta {
  /** The variable's name; inside an indexed family, the field after `<FAMILY>_<n>_`. */
  name: string;
  group: string;
  description: string;
  /** The kind's phrase for error messages: "expected <expected>, got ...". */
  expected: string;
  /** Default as documented (a raw string, parsed like any value). */
  default?: string;
  /** Human wording for a computed default, e.g. "the API URL". */
  defaultText?: string;
  /** Never logged or returned; may be given as NAME_FILE. */
  secret?: boolean;
  /** Accepted for compatibility but meaningless on Workers; reported once when set. */
  notApplicable?: string;
  /** Not in the Phobos reference: added by Phobos Edge. */
  edge?: boolean;
  /** A plugin setting (`*_PLUGIN_TYPE`): the plugins it chooses among (README's plugin table). */
  choosesPlugin?: readonly string[];
  /** Read only by these plugins of its group; unset: by every one (README's plugin table). */
  usedBy?: readonly string[];
}

const variableRegistry = z.registry<VariableMeta>();

// Kept beside the registry: zod rewrites the types inside registry metadata, which a schema does not survive.
const requirements = new WeakMap<z.ZodType, Requirement>();

export function requirementOf(schema: z.ZodType): Requirement | undefined {
  return requirements.get(schema);
}

export function metaOf(schema: z.ZodType): VariableMeta {
  const meta = variableRegistry.get(schema);
  if (!meta) throw new Error('schema is not a declared configuration variable');
  return meta;
}

/** Parses one variable's raw value (a string, or undefined when unset). */
type Variable<T> = z.ZodType<T, string | undefined>;
type OptionalVariable<T> = z.ZodOptional<z.ZodType<T, string>>;
type DefaultedVariable<T> = z.ZodPrefault<z.ZodType<T, string>>;

declare const notApplicableBrand: unique symbol;
/** Declared, validated and documented, but absent from the parsed configuration. */
type NotApplicable<S> = S & { readonly [notApplicableBrand]: true };

interface Details {
  description: string;
  defaultText?: string;
  secret?: boolean;
  edge?: boolean;
  choosesPlugin?: readonly string[];
  usedBy?: readonly string[];
  requiredWhen?: Requirement;
}

/**
 * Declares the variables of one README group. `variable` is optional (undefined when unset) unless
 * it has a default; `required` (indexed families, SSO presets) fails when its container needs it.
 */
export function variableGroup(group: string) {
  const register = <S extends z.ZodType>(
    schema: S,
    name: string,
    kind: VariableKind<unknown>,
    details: Details & { default?: string; notApplicable?: string },
  ): S => {
    const { requiredWhen, ...meta } = details;
    variableRegistry.add(schema, { name, group, expected: kind.expected, ...meta });
    if (requiredWhen) requirements.set(schema, requiredWhen);
    return schema;
  };

  const declare = <T>(name: string, kind: VariableKind<T>, details: Details & { default?: string; notApplicable?: string }): Variable<T | undefined> =>
    register(details.default === undefined ? kind.schema.optional() : kind.schema.prefault(details.default), name, kind, details);

  function variable<T>(name: string, kind: VariableKind<T>, details: Details & { default: string }): DefaultedVariable<T>;
  function variable<T>(name: string, kind: VariableKind<T>, details: Details): OptionalVariable<T>;
  function variable<T>(name: string, kind: VariableKind<T>, details: Details & { default?: string }): Variable<T | undefined> {
    return declare(name, kind, details);
  }

  return {
    variable,
    required<T>(name: string, kind: VariableKind<T>, details: Details): z.ZodType<T, string> {
      // A fresh instance: the registry holds one entry per schema, and kinds are shared.
      return register(kind.schema.clone(), name, kind, details);
    },
    notApplicable<T>(name: string, kind: VariableKind<T>, details: Details & { default?: string; notApplicable: string }): NotApplicable<OptionalVariable<T>> {
      return declare(name, kind, details) as NotApplicable<OptionalVariable<T>>;
    },
  };
}

/** `requiredWhen: when(selector, 'value')`: the variable is required while the selector has that value. */
export function when<S extends z.ZodType>(selector: S, ...values: NonNullable<z.output<S>>[]): Requirement {
  metaOf(selector); // an undeclared selector fails here, at startup, rather than when first read
  return { selector, values };
}

/** One row of README's reference: a variable, or a family's free-form `<KEY>` variables. */
export interface DeclaredVariable {
  name: string;
  meta: Omit<VariableMeta, 'name' | 'expected'>;
  /** The indexed family's prefix (e.g. PHOBOS_OAUTH_PROVIDERS) for names like `<prefix>_<n>_FIELD`. */
  family?: string;
}

/** A part of the configuration read by its own rules (indexed families, SSO presets). */
export abstract class ConfigNode<Output> {
  declare readonly output: Output;
  abstract read(reader: EnvironmentReader): Output;
  abstract declarations(): DeclaredVariable[];
}

/** A configuration section: variables, nested sections and nodes, keyed by their config property. */
interface Section {
  readonly [property: string]: z.ZodType | ConfigNode<unknown> | Section;
}

/** The parsed type of a section: each variable's zod output, not-applicable variables left out. */
export type ConfigOf<T> =
  T extends ConfigNode<infer Output>
    ? Output
    : T extends z.ZodType
      ? z.output<T>
      : { [K in keyof T as T[K] extends { readonly [notApplicableBrand]: true } ? never : K]: ConfigOf<T[K]> };

function isVariable(node: unknown): node is z.ZodType {
  return node instanceof z.ZodType;
}

/** Reads every variable of a section (collecting issues in the reader) into its parsed shape. */
export function readSection<S extends Section>(section: S, reader: EnvironmentReader): ConfigOf<S> {
  const out: Record<string, unknown> = {};
  for (const [property, node] of Object.entries(section)) {
    if (node instanceof ConfigNode) out[property] = node.read(reader);
    else if (isVariable(node)) {
      const meta = metaOf(node);
      const value = reader.parse(meta.name, node);
      if (meta.notApplicable === undefined) out[property] = value;
    } else out[property] = readSection(node, reader);
  }
  return out as ConfigOf<S>;
}

/** Every variable of a section in declaration order (the order of README's reference). */
export function sectionDeclarations(section: Section): DeclaredVariable[] {
  return Object.values(section).flatMap((node): DeclaredVariable[] => {
    if (node instanceof ConfigNode) return node.declarations();
    if (isVariable(node)) {
      const { name, expected: _, ...meta } = metaOf(node);
      return [{ name, meta }];
    }
    return sectionDeclarations(node);
  });
}
