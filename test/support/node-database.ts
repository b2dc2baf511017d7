// Node-side test databases: each call clones the migrated template (or creates an empty database)
// under this run's prefix, so test files never share state.
import pg from 'pg';
import { inject } from 'vitest';

export interface TestDatabase {
  name: string;
  url: string;
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<T>>;
}

function urlFor(name: string): string {
  const url = new URL(inject('database').adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function createTestDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const { adminUrl, templateName, runPrefix } = inject('database');
  const name = `${runPrefix}${crypto.randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(options.migrated === false ? `create database "${name}"` : `create database "${name}" template "${templateName}"`);
  } finally {
    await admin.end();
  }
  const url = urlFor(name);
  return {
    name,
    url,
    async query(text, values) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return await client.query(text, values);
      } finally {
        await client.end();
      }
    },
  };
}
