// The PHOBOS_DB_* variables that point Phobos Edge at the database of a connection URL.
export function databaseConnectionVars(databaseUrl: string): Record<string, string> {
  const url = new URL(databaseUrl);
  return {
    PHOBOS_DB_HOST: url.hostname,
    PHOBOS_DB_PORT: url.port || '5432',
    PHOBOS_DB_USERNAME: decodeURIComponent(url.username),
    PHOBOS_DB_PASSWORD: decodeURIComponent(url.password),
    PHOBOS_DB_NAME: url.pathname.slice(1),
  };
}
