// PRNs wherever an id is taken: `node(id:)`, `nodes(ids:)` and every argument or input field declared
// `t.arg.globalID({ for: … })` / `t.globalID({ for: … })` accept `prn:<type>:<path>` in place of a
// global id of the same type. How:
// 1. each module says which PRN type names which node type, and how to find ids by PRN path
//    (`acceptPrns('project', 'Project', projectIdsByPath)`);
// 2. before execution, input-rules.ts checks every PRN given (well-formed, of an accepted type that
//    the argument is declared for) and resolves them all, one query per PRN type, into this
//    request's cache;
// 3. the one global-id decoder (global-ids.ts, builder.ts's decode hook) reads them from there, so
//    resolvers receive `{ typename, id }` whichever form the client used.
// A PRN that names nothing resolves to an id that names nothing (the nil UUID): `node(id:)` answers
// null and a mutation NOT_FOUND, exactly as for an unknown global id. Resolving a PRN reveals nothing:
// the id never reaches the client, and whatever uses it authorizes as for any other id.
import { createContextCache } from '@pothos/core';
import type { HttpDatabase } from '../db/client';
import { parsePrn } from '../domain/prn';
import type { GraphQLContext } from './context';
import type { GlobalId } from './global-ids';

/** Finds the ids of the resources at these PRN paths; the map is keyed by the path joined with `/`. */
type PrnLookup = (db: HttpDatabase, paths: string[][]) => Promise<Map<string, string>>;

const lookups = new Map<string, { typename: string; lookup: PrnLookup }>();

/** Lets PRNs of `prnType` stand for ids of the node type `typename`. */
export function acceptPrns(prnType: string, typename: string, lookup: PrnLookup): void {
  lookups.set(prnType, { typename, lookup });
}

/** The node type a PRN names, or undefined when it is malformed or of a type no module accepts. */
export function prnTypename(value: string): string | undefined {
  const parsed = parsePrn(value);
  return parsed ? lookups.get(parsed.type)?.typename : undefined;
}

/** The PRN types accepted, for messages. */
export function acceptedPrnTypes(): string[] {
  return [...lookups.keys()].sort();
}

const nothing = '00000000-0000-0000-0000-000000000000';

const resolvedPrns = createContextCache(() => new Map<string, GlobalId>());

/** Resolves the PRNs (already checked by prnTypename) into the request's cache: one query per PRN type. */
export async function resolvePrns(context: GraphQLContext, values: Iterable<string>): Promise<void> {
  const byType = new Map<string, Map<string, string[]>>();
  for (const value of values) {
    const parsed = parsePrn(value);
    if (!parsed || !lookups.has(parsed.type)) continue;
    const paths = byType.get(parsed.type) ?? new Map<string, string[]>();
    paths.set(value, parsed.path);
    byType.set(parsed.type, paths);
  }
  const cache = resolvedPrns(context);
  await Promise.all(
    [...byType].map(async ([type, paths]) => {
      const { typename, lookup } = lookups.get(type)!;
      const ids = await lookup(context.db.http, [...paths.values()]);
      for (const [value, path] of paths) cache.set(value, { typename, id: ids.get(path.join('/')) ?? nothing });
    }),
  );
}

/** What a PRN resolved to in this request, if it was resolved. */
export function resolvedPrn(context: object, value: string): GlobalId | undefined {
  return resolvedPrns(context as GraphQLContext).get(value);
}
