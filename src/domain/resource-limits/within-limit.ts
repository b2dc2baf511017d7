// Creating something that has a resource limit happens in one transaction that counts and inserts
// together, under an advisory lock on the parent (the organization, the user, ...), so concurrent
// creates cannot pass the limit between the count and the insert. A limit name missing from the
// table means no limit.
import { sql, type SQL } from 'drizzle-orm';
import type { HttpDatabase } from '../../db/client';
import { rethrowMissingReference } from '../../db/postgres-errors';
import { AppError } from '../../errors';
import { advisoryLock } from '../../db/advisory-lock';

export function withinLimit(limitName: string, currentCount: SQL): SQL {
  return sql`(${currentCount}) < coalesce((select value from resource_limits where name = ${limitName}), 2147483647)`;
}

export interface LimitedInsert {
  limitName: string;
  /** Serialises creates under the same parent, e.g. `api_keys:user:<id>`. */
  lockKey: string;
  /** `insert into … select … where ${withinLimit(...)} returning …` */
  statement: SQL;
  /**
   * Statements to run in the same transaction after the insert, e.g. its activity event
   * (recordActivity with `onlyIf` the inserted row exists, so an over-limit create records nothing).
   */
  after?: ReturnType<HttpDatabase['execute']>[];
}

export async function insertWithinLimit<Row extends Record<string, unknown>>(db: HttpDatabase, insert: LimitedInsert): Promise<Row> {
  // A parent deleted (or never there) between authorization and the insert is NOT_FOUND, not a 500.
  const [, inserted] = await db
    .batch([advisoryLock(db, insert.lockKey), db.execute<Row>(insert.statement), ...(insert.after ?? [])])
    .catch((error: unknown) => {
      rethrowMissingReference(error);
      throw error;
    });
  const row = (inserted as { rows: Row[] }).rows[0];
  if (!row) {
    const [limit] = (await db.execute<{ value: number }>(sql`select value from resource_limits where name = ${insert.limitName}`)).rows;
    throw new AppError('RESOURCE_LIMIT_EXCEEDED', `Resource limit ${insert.limitName} (${limit?.value ?? 'unknown'}) reached`, {
      details: { limit: insert.limitName, value: limit?.value },
    });
  }
  return row;
}
