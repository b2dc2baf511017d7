// Every stored object is identified by a UUID (db/schema/columns.ts). Ids arrive from clients inside
// global ids and URLs; one that is not a UUID names nothing, and must not reach Postgres, which
// would reject the whole query (a 500 for what is the client's mistake).
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return uuidPattern.test(value);
}

/** The ids that can name a stored object; the others match nothing. */
export function wellFormedIds(ids: readonly string[]): string[] {
  return ids.filter(isUuid);
}
