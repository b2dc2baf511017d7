// Where a deployed Worker's database comes from. A Hyperdrive binding named HYPERDRIVE in the target's
// wrangler configuration wins: the Worker connects through it (node-postgres over the socket API) and
// reads none of the PHOBOS_DB_* connection variables, so they are not sent to it — the database
// password stays on the deploying machine, which still applies the migrations by URL from PHOBOS_DB_*.
// Without the binding, the Worker reaches PHOBOS_DB_HOST over Neon's HTTP endpoint (PHOBOS_DB_PROXY_URL
// in front of any other PostgreSQL).
import { unstable_readConfig } from 'wrangler';
import type { WorkerVariables } from './worker-variables';

const hyperdriveBinding = 'HYPERDRIVE';

/** What locates the database for the Neon HTTP driver; a Worker with a Hyperdrive binding reads none of them. */
const connectionVariables = [
  'PHOBOS_DB_HOST',
  'PHOBOS_DB_PORT',
  'PHOBOS_DB_NAME',
  'PHOBOS_DB_USERNAME',
  'PHOBOS_DB_PASSWORD',
  'PHOBOS_DB_SSL_MODE',
  'PHOBOS_DB_PROXY_URL',
] as const;

/** Whether the wrangler configuration at `configPath` binds a Hyperdrive configuration as HYPERDRIVE. */
export function declaresHyperdrive(configPath: string): boolean {
  return (unstable_readConfig({ config: configPath }).hyperdrive ?? []).some((binding: { binding: string }) => binding.binding === hyperdriveBinding);
}

/** The Worker's variables without the connection variables, for a Worker behind Hyperdrive. */
export function withoutConnectionVariables({ secrets, vars }: WorkerVariables): WorkerVariables {
  const drop = new Set<string>(connectionVariables);
  const keep = (values: Record<string, string>) => Object.fromEntries(Object.entries(values).filter(([name]) => !drop.has(name)));
  return { secrets: keep(secrets), vars: keep(vars) };
}
