// What the local Worker receives: every configuration variable the operator set (NAME_FILE already
// resolved), with the database pointed at the local stack's server through the bridge. Written to
// a 0600 env file for `wrangler dev --env-file`, so secrets never appear on a command line.
import { writeFileSync } from 'node:fs';
import type { Environment } from '../../src/config/load';
import { isConfigurationVariable } from '../../src/config/variables';
import { databaseVariablesFor } from '../../src/db/connection-string';
import type { DatabaseTarget } from './database';

export interface LocalStackValues {
  database: Pick<DatabaseTarget, 'connectionString'>;
  proxyUrl: string;
  admin: { email: string; password: string };
  keyEncryptionKey: string;
  /** The port the Worker listens on: the API URL's, unless PHOBOS_API_URL says otherwise. */
  httpPort: number;
}

export function workerEnvironment(env: Environment, local: LocalStackValues): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && value !== '' && isConfigurationVariable(name)) out[name] = value;
  }
  Object.assign(out, {
    ...databaseVariablesFor(local.database.connectionString),
    PHOBOS_DB_PROXY_URL: local.proxyUrl,
    PHOBOS_ADMIN_USER_EMAIL: local.admin.email,
    PHOBOS_ADMIN_USER_PASSWORD: local.admin.password,
    PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_ENCRYPTION_KEY: local.keyEncryptionKey,
  });
  // The console's sign-in redirect and the tokens' issuer are made from the API URL, so on another
  // port (PHOBOS_HTTP_SERVER_PORT) the default http://localhost:9000 would send the browser away.
  out.PHOBOS_API_URL ??= `http://localhost:${local.httpPort}`;
  return out;
}

function formatEnvFile(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([name, value]) => `${name}="${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')}"`)
    .join('\n')
    .concat('\n');
}

export function writeEnvFile(path: string, values: Record<string, string>): void {
  writeFileSync(path, formatEnvFile(values), { mode: 0o600 });
}
