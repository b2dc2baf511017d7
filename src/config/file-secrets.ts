// NAME_FILE secrets (Phase convention): when NAME_FILE is set, the file's content is the value of
// NAME and wins over NAME itself. Workers have no filesystem, so this runs in the Node-side tools
// (`npm start`, migrations, deploy's secret upload) before the environment reaches the Worker.
import { readFileSync } from 'node:fs';
import type { Environment } from './environment-reader';
import { isConfigurationVariable } from './variables';

interface ResolvedEnvironment {
  env: Environment;
  /** Names whose value came from a file (for the DEBUG log line; values are never reported). */
  fromFile: string[];
}

export class SecretFileError extends Error {
  constructor(
    readonly variable: string,
    readonly path: string,
    cause: unknown,
  ) {
    super(`${variable}_FILE: cannot read ${path}: ${(cause as Error).message}`);
    this.name = 'SecretFileError';
  }
}

/**
 * Returns a copy of `env` where every known variable with a `_FILE` companion takes the file's
 * content (one trailing newline trimmed, as files written by `echo` or editors end with one).
 */
export function resolveFileSecrets(env: Environment, readFile: (path: string) => string = (path) => readFileSync(path, 'utf8')): ResolvedEnvironment {
  const resolved: Environment = { ...env };
  const fromFile: string[] = [];
  for (const [key, path] of Object.entries(env)) {
    if (!key.endsWith('_FILE') || !path) continue;
    const name = key.slice(0, -'_FILE'.length);
    // Only known variables: PHOBOS_TLS_CERT_FILE is a variable in its own right, not PHOBOS_TLS_CERT's file.
    if (!isConfigurationVariable(name)) continue;
    let content: string;
    try {
      content = readFile(path);
    } catch (error) {
      throw new SecretFileError(name, path, error);
    }
    resolved[name] = content.replace(/\r?\n$/, '');
    delete resolved[key];
    fromFile.push(name);
  }
  return { env: resolved, fromFile };
}
