// Applies drizzle/ migrations under a Postgres advisory lock, so two starters (two `npm start`s,
// or a deploy job and a developer) never run the same migration twice or interleave.
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { fileURLToPath } from 'node:url';

export const migrationsFolder = fileURLToPath(new URL('../../drizzle', import.meta.url));
// Any fixed 64-bit key works; this one is "phobos-edge migrations" hashed, written out so every
// tool agrees on it without sharing code.
const migrationLockKey = 7_431_920_560_217_614n;

export interface MigrationResult {
  applied: number;
  total: number;
}

export async function runMigrations(connectionString: string, log: (message: string) => void = () => undefined): Promise<MigrationResult> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [migrationLockKey.toString()]);
    try {
      const before = await countApplied(client);
      await migrate(drizzle(client), { migrationsFolder });
      const after = await countApplied(client);
      if (after > before) log(`applied ${after - before} migration(s); database is at ${after}`);
      return { applied: after - before, total: after };
    } finally {
      await client.query('select pg_advisory_unlock($1)', [migrationLockKey.toString()]);
    }
  } finally {
    await client.end();
  }
}

async function countApplied(client: pg.Client): Promise<number> {
  const exists = await client.query(`select to_regclass('drizzle.__drizzle_migrations') is not null as present`);
  if (!exists.rows[0].present) return 0;
  const result = await client.query('select count(*)::int as count from drizzle.__drizzle_migrations');
  return result.rows[0].count;
}
