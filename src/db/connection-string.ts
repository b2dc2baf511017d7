// PHOBOS_DB_* ↔ PostgreSQL connection URL, both directions, in one place: the Worker and the
// Node-side tools turn the parsed settings into a URL; the local stack and the tests turn a URL
// (of an embedded or test server) back into the variables a Worker is configured with.
import type { PhobosConfig } from '../config/load';

type DatabaseConfig = PhobosConfig['database'];

/** What a URL needs of PHOBOS_DB_*; unset parts take the defaults the local stack uses. */
export type DatabaseLocation = Partial<Pick<DatabaseConfig, 'host' | 'port' | 'username' | 'password' | 'name' | 'sslMode'>>;

/** The PostgreSQL URL described by PHOBOS_DB_*; used by the Worker and the Node-side tools alike. */
export function connectionStringFor(database: DatabaseLocation): string {
  const url = new URL('postgresql://localhost');
  url.hostname = database.host ?? '127.0.0.1';
  url.port = String(database.port ?? 5432);
  url.username = encodeURIComponent(database.username ?? 'postgres');
  if (database.password) url.password = encodeURIComponent(database.password);
  url.pathname = `/${encodeURIComponent(database.name ?? 'phobos')}`;
  const sslMode = database.sslMode ?? 'prefer';
  if (sslMode !== 'prefer') url.searchParams.set('sslmode', sslMode);
  return url.toString();
}

/** The PHOBOS_DB_* variables (host, port, username, password, name, SSL mode if given) that point Phobos Edge at `connectionString`. */
export function databaseVariablesFor(connectionString: string): Record<string, string> {
  const url = new URL(connectionString);
  const variables: Record<string, string> = {
    PHOBOS_DB_HOST: url.hostname,
    PHOBOS_DB_PORT: url.port || '5432',
    PHOBOS_DB_USERNAME: decodeURIComponent(url.username),
    PHOBOS_DB_PASSWORD: decodeURIComponent(url.password),
    PHOBOS_DB_NAME: decodeURIComponent(url.pathname.slice(1)),
  };
  const sslMode = url.searchParams.get('sslmode');
  if (sslMode) variables.PHOBOS_DB_SSL_MODE = sslMode;
  return variables;
}
