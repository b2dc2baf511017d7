// Queries that run on every request of a hot path, built once per database handle. drizzle turns a
// query builder into SQL text each time the query runs, and on a read as small as the resource
// limits that building is the largest single part of the Worker's CPU for the request (profiled on
// workerd); a prepared query keeps the SQL and only binds its placeholders. Neon's HTTP endpoint has
// no server-side prepared statements, so the name given to prepare() is only a label.
import type { HttpDatabase } from './client';

/** `build(db)` runs once per database handle; later calls get the same prepared query. */
export function preparedQuery<Query>(build: (db: HttpDatabase) => Query): (db: HttpDatabase) => Query {
  const prepared = new WeakMap<HttpDatabase, Query>();
  return (db) => {
    let query = prepared.get(db);
    if (!query) {
      query = build(db);
      prepared.set(db, query);
    }
    return query;
  };
}
