import { chmodSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { PhobosConfig } from '../../src/config/load';

export const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
/** Local state of `npm start`: embedded database, generated local secrets, wrangler's storage. */
export const stateDir = process.env.PHOBOS_EDGE_STATE_DIR ?? `${projectRoot}.phobos`;

/**
 * The embedded server listens on PHOBOS_DB_PORT when it is set explicitly, else on 54329, so it
 * never collides with a PostgreSQL already running on the default 5432.
 */
export function embeddedPort(config: PhobosConfig, env: NodeJS.ProcessEnv = process.env): number {
  return env.PHOBOS_DB_PORT ? config.database.port : 54329;
}

/**
 * Creates the state directory: traversable but not listable by others (0711), because as root the
 * embedded server runs as a separate `postgres` user that must reach its data directory inside;
 * the secrets kept here are files of mode 0600.
 */
export function prepareStateDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o711);
}
