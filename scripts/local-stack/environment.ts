// The Node-side tools' view of configuration: NAME_FILE secrets resolved, then the same typed
// parser the Worker uses. A bad variable stops the tool here, before anything touches a database.
import { resolveFileSecrets, SecretFileError } from '../../src/config/file-secrets';
import { ConfigError, loadConfig, type Environment, type PhobosConfig } from '../../src/config/load';

export interface NodeEnvironment {
  env: Environment;
  config: PhobosConfig;
}

export function loadNodeEnvironment(source: Environment = process.env, report: (line: string) => void = (line) => console.error(line)): NodeEnvironment {
  const { env, fromFile } = resolveFileSecrets(source);
  const config = loadConfig(env);
  if (config.debug) {
    for (const name of fromFile) report(`[debug] ${name} from file`);
  }
  for (const issue of config.notApplicable) {
    report(`note: ${issue.variable} is set but not applicable on Workers (${issue.message}); ignored`);
  }
  return { env, config };
}

/** Runs `main`, turning configuration errors into one clear message and exit code 1. */
export async function runTool(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    if (error instanceof ConfigError || error instanceof SecretFileError) {
      console.error(error.message);
    } else {
      console.error(error);
    }
    process.exit(1);
  }
}
