// Per-isolate state of the Worker: the parsed configuration and the database handle factory.
// Parsing once per isolate keeps the hot path free of config work; a bad configuration is
// remembered too, so every request fails fast with the same message instead of re-parsing.
import { ConfigError, loadConfig, type PhobosConfig } from './config/load';
import { createDatabase, type Database } from './db/client';
import { connectionStringFor } from './db/connection-string';
import type { HyperdriveBinding } from './db/hyperdrive';
import { variablesOf, type WorkerEnv } from './env';

const configs = new WeakMap<object, PhobosConfig | ConfigError>();
/** The Hyperdrive binding of the environment a configuration was read from, when it has one. */
const hyperdrives = new WeakMap<PhobosConfig, HyperdriveBinding>();

export function configFor(env: WorkerEnv): PhobosConfig {
  let entry = configs.get(env);
  if (!entry) {
    try {
      entry = loadConfig(variablesOf(env));
      if (env.HYPERDRIVE) hyperdrives.set(entry, env.HYPERDRIVE);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      entry = error;
    }
    configs.set(env, entry);
  }
  if (entry instanceof ConfigError) throw entry;
  return entry;
}

export function isDatabaseConfigured(config: PhobosConfig): boolean {
  return hyperdrives.has(config) || config.database.host !== undefined;
}

const databases = new WeakMap<PhobosConfig, Database>();

/**
 * The isolate's database handle for this configuration: through the environment's Hyperdrive binding
 * when it has one (PHOBOS_DB_HOST … PHOBOS_DB_PASSWORD and PHOBOS_DB_PROXY_URL are then not read;
 * connections belong to the request, see db/hyperdrive.ts), else over Neon's HTTP endpoint (HTTP
 * queries hold no connection).
 */
export function databaseFor(config: PhobosConfig): Database {
  let database = databases.get(config);
  if (!database) {
    const hyperdrive = hyperdrives.get(config);
    database = hyperdrive
      ? createDatabase({ hyperdrive, traced: config.otel.enabled })
      : createDatabase({ connectionString: connectionStringFor(config.database), proxyUrl: config.database.proxyUrl, traced: config.otel.enabled });
    databases.set(config, database);
  }
  return database;
}
