// The one way to serialise writes that share a parent (an organization's memberships, a user's
// sessions, the set of system admins): a transaction-scoped advisory lock on a text key, released
// when the batch it runs in commits or rolls back. Put it first in the `db.batch([...])` it guards.
import { sql } from 'drizzle-orm';
import type { HttpDatabase } from './client';

export function advisoryLock(db: HttpDatabase, key: string) {
  return db.execute(sql`select pg_advisory_xact_lock(hashtext(${key}))`);
}
