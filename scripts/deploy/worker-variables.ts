// What a deploy sends the Worker: every configuration variable set in the deploying environment
// (NAME_FILE already resolved by loadNodeEnvironment). Declared secrets go through `wrangler secret
// bulk` on standard input, so they are never written to disk nor shown on a command line; the rest
// travel as `--var NAME:VALUE`.
import type { Environment } from '../../src/config/load';
import { declaredVariables, isConfigurationVariable } from '../../src/config/variables';

const secretNames = new Set(declaredVariables.filter((variable) => variable.meta.secret && !variable.family).map((variable) => variable.name));
// Indexed families' secret fields (e.g. PHOBOS_OAUTH_PROVIDERS_<n>_CLIENT_SECRET) are matched by suffix.
const secretFamilyFields = declaredVariables
  .filter((variable) => variable.meta.secret && variable.family)
  .map((variable) => variable.name.split('_<n>_')[1] ?? variable.name);

function isSecretVariable(name: string): boolean {
  return (
    secretNames.has(name) ||
    secretFamilyFields.some((field) => name.endsWith(`_${field}`)) ||
    /(_SECRET|_PASSWORD|_KEY|_TOKEN)$/.test(name) ||
    // Free-form dispatcher settings may carry anything (registry auth, cluster credentials).
    name.includes('_JOB_DISPATCHER_DATA_')
  );
}

export interface WorkerVariables {
  secrets: Record<string, string>;
  vars: Record<string, string>;
}

/** The deploying environment's configuration variables, split into secrets and plain variables. */
export function workerVariables(env: Environment): WorkerVariables {
  const secrets: Record<string, string> = {};
  const vars: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value === '' || !isConfigurationVariable(name)) continue;
    (isSecretVariable(name) ? secrets : vars)[name] = value;
  }
  return { secrets, vars };
}
