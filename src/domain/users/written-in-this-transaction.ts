// Statements of one `db.batch([...])` that must run only when an earlier statement of the same batch
// changed a row (the activity event of a conditional update, the sessions it revokes) ask the row
// itself: a row version written by this transaction carries its transaction id as `xmin`. A version
// or timestamp would not do — a concurrent transaction that committed the same change meanwhile is
// visible to later statements under READ COMMITTED, and would make them run for a change this
// transaction never made.
import { sql, type SQL } from 'drizzle-orm';

export function writtenInThisTransaction(table: 'users' | 'set_password_links', id: string): SQL {
  return sql`exists (select 1 from ${sql.identifier(table)} where id = ${id} and xmin = pg_current_xact_id()::xid)`;
}
