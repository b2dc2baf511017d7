import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { migrationsFolder, runMigrations } from '../../scripts/local-stack/migrations';
import { createTestDatabase } from '../support/node-database';

const shipped = readdirSync(migrationsFolder).filter((file) => file.endsWith('.sql')).length;

describe('migrations', () => {
  it('apply to a fresh database and are a no-op when re-run', async () => {
    const database = await createTestDatabase({ migrated: false });
    expect(await runMigrations(database.url)).toEqual({ applied: shipped, total: shipped });
    expect(await runMigrations(database.url)).toEqual({ applied: 0, total: shipped });
    const tables = await database.query<{ table_name: string }>(
      "select table_name from information_schema.tables where table_schema = 'public' order by table_name",
    );
    expect(tables.rows.map((row) => row.table_name)).toEqual(expect.arrayContaining(['memberships', 'organizations', 'resource_limits', 'users']));
  });

  it('serialise concurrent starters with the advisory lock', async () => {
    const database = await createTestDatabase({ migrated: false });
    const results = await Promise.all([runMigrations(database.url), runMigrations(database.url), runMigrations(database.url)]);
    expect(results.map((result) => result.applied).sort()).toEqual([0, 0, shipped]);
    const recorded = await database.query<{ count: number }>('select count(*)::int as count from drizzle.__drizzle_migrations');
    expect(recorded.rows[0]!.count).toBe(shipped);
  });

  it('enforce the schema rules in the database itself', async () => {
    const database = await createTestDatabase();
    await expect(database.query("insert into organizations (name) values ('Not Valid!')")).rejects.toMatchObject({
      constraint: 'organizations_name_format',
    });
    await database.query("insert into users (username, email) values ('ann', 'Ann@Example.com')");
    await expect(database.query("insert into users (username, email) values ('ann2', 'ann@example.com')")).rejects.toMatchObject({
      constraint: 'users_email_lower_key',
    });
  });
});
