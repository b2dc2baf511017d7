import type { PhobosConfig } from '../config/load';

/** The PostgreSQL URL described by PHOBOS_DB_*; used by the Worker and the Node-side tools alike. */
export function connectionStringFor(database: PhobosConfig['database']): string {
  const url = new URL('postgresql://localhost');
  url.hostname = database.host ?? '127.0.0.1';
  url.port = String(database.port);
  url.username = encodeURIComponent(database.username ?? 'postgres');
  if (database.password) url.password = encodeURIComponent(database.password);
  url.pathname = `/${encodeURIComponent(database.name ?? 'phobos')}`;
  if (database.sslMode !== 'prefer') url.searchParams.set('sslmode', database.sslMode);
  return url.toString();
}
