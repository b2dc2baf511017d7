// Whether the database has every migration this build ships. The journal is bundled into the
// Worker; drizzle records each applied migration with the journal entry's `when` as created_at.
import { sql } from 'drizzle-orm';
import journal from '../../drizzle/meta/_journal.json';
import type { HttpDatabase } from './client';

export interface MigrationStatus {
  current: boolean;
  expected: number;
  applied: number;
  pending: string[];
}

const expectedMigrations = journal.entries.map((entry) => ({ tag: entry.tag, when: entry.when }));

export async function readMigrationStatus(db: HttpDatabase): Promise<MigrationStatus> {
  const table = await db.execute<{ present: boolean }>(sql`select to_regclass('drizzle.__drizzle_migrations') is not null as present`);
  const applied = table.rows[0]?.present
    ? (await db.execute<{ created_at: string }>(sql`select created_at::text from drizzle.__drizzle_migrations`)).rows.map((row) => Number(row.created_at))
    : [];
  const appliedSet = new Set(applied);
  const pending = expectedMigrations.filter((entry) => !appliedSet.has(entry.when)).map((entry) => entry.tag);
  return { current: pending.length === 0, expected: expectedMigrations.length, applied: applied.length, pending };
}
