const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Ids arrive inside client-supplied global ids: one that is not a UUID matches nothing, and must
 * not reach Postgres, which would reject the whole query.
 */
export function wellFormedIds(ids: readonly string[]): string[] {
  return ids.filter((id) => uuidPattern.test(id));
}
