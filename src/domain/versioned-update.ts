// Optimistic locking for every update and delete, with its activity event in the same transaction.
// Every aggregate row carries `version` (db/schema/columns.ts); a client sends back the version it
// last read (`metadata: { version }`), and the change applies only if the row is still at it, or
// fails with CONFLICT naming `metadata.version`. Without a version the change applies to whatever is
// current (it is retried on the newest row if another change slipped in between load and write).
//
// The batch is: the activity event, inserted only if the row is still at the version the change
// expects (and locked there, `for update`, until the transaction ends), then the change itself,
// conditioned on the same version. Versions only grow, so a row not at that version when the
// event is considered never will be: the event and the change are written together or not at all.
//
// Use it from a service after load-then-authorize:
//   const project = await load(db, id);
//   const principal = authorize(caller, 'project:update', { ... });
//   const updated = await versionedChange(db, {
//     table: projects, what: 'Project', current: project, expectedVersion: input.version, reload: () => find(db, id),
//     change: (atVersion) => db.update(projects).set({ ..., version: sql`${projects.version} + 1` }).where(atVersion).returning(),
//     activity: (current) => ({ initiator: principal, event: { action: 'update', ... } }),
//   });
import { and, eq, sql, type SQL } from 'drizzle-orm';
import type { RunnableQuery } from 'drizzle-orm/runnable-query';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { HttpDatabase } from '../db/client';
import { AppError, notFound } from '../errors';
import { recordActivity, type ActivityInitiator, type ActivityInput } from './activity/record';

type VersionedTable = PgTable & { id: PgColumn; version: PgColumn };

export interface VersionedChange<Current extends { id: string; version: number }, Changed> {
  table: VersionedTable;
  /** How messages name the object: `Project`, `Resource limit ResourceLimitTeamsPerOrganization`. */
  what: string;
  /** The row as loaded and authorized. */
  current: Current;
  /** The version the client sent (metadata.version); undefined to change whatever is current. */
  expectedVersion: number | undefined;
  /** The row as it is now, undefined once gone: to tell NOT_FOUND from CONFLICT, and to retry an unversioned change. */
  reload: () => Promise<Current | undefined>;
  /** The update or delete, restricted to `atVersion` (the row's id and the expected version), returning the changed row. */
  change: (atVersion: SQL, current: Current) => RunnableQuery<Changed[], 'pg'>;
  /** The activity event of the change, computed from the row it changes (e.g. its old value). */
  activity: (current: Current) => { initiator: ActivityInitiator; event: ActivityInput };
  /**
   * A rule the change must not break, checked in the same transaction: `lock` runs first (the
   * advisory lock that serialises everything the rule depends on), `breaks` is a condition that holds
   * when the change would break the rule — then neither the event nor the change is written, and
   * `refusal` is thrown.
   */
  guard?: { lock: RunnableQuery<unknown, 'pg'>; breaks: SQL; refusal: () => AppError };
  /**
   * A further condition the row must meet to be changed at all, e.g. `deleted_at is null` where
   * deletes are soft: it becomes part of atVersion, so the lock, the event and the change all
   * require it, and a row that no longer meets it is treated as gone (reload must then say undefined).
   */
  onlyWhere?: SQL;
  /** How NOT_FOUND names the object once it is gone, to match the message its load gives; `what` by default. */
  notFoundAs?: string;
}

/** How often an unversioned change is retried on the newest row before it gives up with CONFLICT. */
const unversionedAttempts = 3;

/** CONFLICT naming `metadata.version`, with the version the object is at now: the one answer to a stale version. */
export function staleVersion(what: string, currentVersion: number): AppError {
  return new AppError('CONFLICT', `${what} was changed meanwhile (now at version ${currentVersion})`, {
    field: 'metadata.version',
    details: { version: currentVersion },
  });
}

/** Applies the change if the row is at the expected version, with its activity event; returns the changed row. */
export async function versionedChange<Current extends { id: string; version: number }, Changed>(
  db: HttpDatabase,
  spec: VersionedChange<Current, Changed>,
): Promise<Changed> {
  let current = spec.current;
  if (spec.expectedVersion !== undefined && spec.expectedVersion !== current.version) throw staleVersion(spec.what, current.version);
  for (let attempt = 1; ; attempt += 1) {
    const version = current.version;
    const atVersion = and(eq(spec.table.id, current.id), eq(spec.table.version, version), spec.onlyWhere)!;
    const { initiator, event } = spec.activity(current);
    const guard = spec.guard;
    const allowed = guard ? sql`not (${guard.breaks})` : sql`true`;
    const stillAtVersion = sql`exists (select 1 from ${spec.table} where ${atVersion} for update) and ${allowed}`;
    const statements = [recordActivity(db, initiator, event, stillAtVersion), spec.change(guard ? and(atVersion, allowed)! : atVersion, current)] as const;
    const results = guard ? await db.batch([guard.lock, ...statements]) : await db.batch(statements);
    const row = (results.at(-1) as Changed[])[0];
    if (row) return row;
    if (guard && (await db.execute<{ breaks: boolean }>(sql`select ${guard.breaks} as breaks`)).rows[0]?.breaks) throw guard.refusal();
    const now = await spec.reload();
    if (!now) throw notFound(spec.notFoundAs ?? spec.what);
    if (spec.expectedVersion !== undefined || attempt >= unversionedAttempts) throw staleVersion(spec.what, now.version);
    current = now;
  }
}
