// `npm run migrate`: applies drizzle/ migrations to the database PHOBOS_DB_* names, or to the
// embedded server under .phobos/ when PHOBOS_DB_HOST is unset.
import { resolveDatabase } from './local-stack/database';
import { loadNodeEnvironment, runTool } from './local-stack/environment';
import { runMigrations } from './local-stack/migrations';
import { embeddedPort, stateDir } from './local-stack/paths';

await runTool(async () => {
  const { config } = loadNodeEnvironment();
  const database = await resolveDatabase(config, { stateDir, port: embeddedPort(config) });
  try {
    const result = await runMigrations(database.connectionString, (line) => console.log(line));
    console.log(result.applied === 0 ? `database is up to date (${result.total} migrations)` : `done`);
  } finally {
    await database.stop();
  }
});
