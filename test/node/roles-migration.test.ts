// The roles migration moves existing memberships onto the seeded roles: 'deployer' is gone and its
// holders become developers (who may now run pipelines); every other role keeps its name.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrationsFolder } from '../../scripts/local-stack/migrations';
import { createTestDatabase, type TestDatabase } from '../support/node-database';

const files = readdirSync(migrationsFolder)
  .filter((file) => file.endsWith('.sql'))
  .sort();
const rolesMigration = files.findIndex((file) => /^\d{4}_roles\.sql$/.test(file));

async function apply(database: TestDatabase, file: string) {
  for (const statement of readFileSync(join(migrationsFolder, file), 'utf8').split('--> statement-breakpoint')) {
    if (statement.trim()) await database.query(statement);
  }
}

describe('the roles migration', () => {
  it('gives every existing membership the role of its name, and deployers the developer role', async () => {
    expect(rolesMigration).toBeGreaterThan(0);
    const database = await createTestDatabase({ migrated: false });
    for (const file of files.slice(0, rolesMigration)) await apply(database, file);
    const organization = (await database.query<{ id: string }>("insert into organizations (name) values ('acme') returning id")).rows[0]!.id;
    const names = ['owner', 'release_manager', 'deployer', 'developer', 'viewer'];
    for (const role of names) {
      const user = (
        await database.query<{ id: string }>('insert into users (username, email) values ($1, $2) returning id', [
          role.replace('_', '-'),
          `${role}@example.com`,
        ])
      ).rows[0]!.id;
      await database.query('insert into memberships (organization_id, user_id, role) values ($1, $2, $3)', [organization, user, role]);
    }
    for (const file of files.slice(rolesMigration)) await apply(database, file);
    const moved = await database.query<{ username: string; role: string }>(
      'select users.username, roles.name as role from memberships join users on users.id = memberships.user_id join roles on roles.id = memberships.role_id order by users.username',
    );
    expect(moved.rows).toEqual([
      { username: 'deployer', role: 'developer' },
      { username: 'developer', role: 'developer' },
      { username: 'owner', role: 'owner' },
      { username: 'release-manager', role: 'release_manager' },
      { username: 'viewer', role: 'viewer' },
    ]);
  });
});
