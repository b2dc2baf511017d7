// Phobos Resource Names: `prn:<type>:<path>`, e.g. `prn:organization:acme`, `prn:project:acme/web`,
// `prn:environment:acme/web/prod`, `prn:approval_rule:acme/admins`. Every resource has one, shown in
// `metadata.prn`; templates refer to resources by PRN, and wherever an id is taken a PRN may be given.
// The path is the resource's name under its parents' names (a membership, which has no name: its id),
// so a PRN stays readable in the activity log after the resource is gone; renaming a team or a custom
// role gives it a new PRN. Every type is listed in the README's PRN table.
// Credentials (API keys, sessions) have none: they are not resources one refers to by name.
export function prnOf(type: string, ...path: string[]): string {
  return `prn:${type}:${path.join('/')}`;
}

export interface ParsedPrn {
  type: string;
  path: string[];
}

// Types are snake_case words; path segments are names (lowercase, or a resource limit's CamelCase),
// or an environment protection rule's glob (`prod-*`, `*`), hence `*` and `?`.
const segment = '[A-Za-z0-9*?][A-Za-z0-9._*?-]{0,127}';
const prnPattern = new RegExp(`^prn:([a-z][a-z_]{0,62}):(${segment}(?:/${segment}){0,7})$`);

/** The type and path a PRN names, or undefined when the value is not a well-formed PRN. */
export function parsePrn(value: string): ParsedPrn | undefined {
  const match = prnPattern.exec(value);
  if (!match) return undefined;
  return { type: match[1]!, path: match[2]!.split('/') };
}

/** Whether a value is meant as a PRN (and so must be one), rather than a global id. */
export function looksLikePrn(value: string): boolean {
  return value.startsWith('prn:');
}

/**
 * The id of the resource of `type` that `prn` names, by that type's lookup of ids by PRN path (keyed
 * by the path joined with `/`, as every `…IdsByPath` is); undefined when it names none or is a PRN
 * of another type.
 */
export async function idOfPrn<Db>(
  db: Db,
  prn: string,
  type: string,
  idsByPath: (db: Db, paths: readonly string[][]) => Promise<Map<string, string>>,
): Promise<string | undefined> {
  const parsed = parsePrn(prn);
  if (parsed?.type !== type) return undefined;
  return (await idsByPath(db, [parsed.path])).get(parsed.path.join('/'));
}
