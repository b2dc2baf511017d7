// Updates and deletes that take the object's `metadata.version`, with their activity event in the
// same transaction. The batch runs: lock the row, write the event if the row is still at the
// expected version, make the change under the same condition. The lock comes first so nothing can
// move the row between the event's check and the change: the event is written exactly when the
// change is made (checking afterwards for "version + 1" would also match someone else's change).
import { sql } from 'drizzle-orm';
import type { HttpDatabase } from '../../db/client';

type VersionedTable = 'environments' | 'environment_protection_rules' | 'approval_rules';

/** Locks the row until the transaction ends; the first statement of a versioned change's batch. */
export function lockRow(db: HttpDatabase, table: VersionedTable, id: string) {
  return db.execute(sql`select 1 from ${sql.identifier(table)} where id = ${id} for update`);
}

/** The condition the change and its event share: the row exists (and is live) at this version. */
export function atVersion(table: VersionedTable, id: string, version: number, { live = false } = {}) {
  return sql`exists (select 1 from ${sql.identifier(table)} where id = ${id} and version = ${version}${live ? sql` and deleted_at is null` : sql``})`;
}
