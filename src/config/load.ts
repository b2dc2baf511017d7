// Parses the environment into one typed configuration object. Runs in the Worker (env bindings)
// and in the Node-side tools (process.env after NAME_FILE resolution). Every problem is collected
// and reported together, each naming its variable, so an operator fixes them in one pass.
import { type ConfigOf, readSection } from './declarations';
import { type ConfigIssue, type Environment, EnvironmentReader } from './environment-reader';
import { configDeclaration } from './variables';

export type { Environment } from './environment-reader';

export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(`Invalid configuration:\n${issues.map((issue) => `  - ${issue.variable}: ${issue.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** A local run (`npm start`, `wrangler dev`): nothing in front of it sets trustworthy headers. */
function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' || /^127\./.test(host);
}

/** The defaults documented as another setting ("the API URL", "the UI URL") or as "unset". */
function withComputedDefaults(parsed: ConfigOf<typeof configDeclaration>, notApplicable: ConfigIssue[]) {
  const { server, sso, jwsProvider } = parsed;
  const uiUrl = server.uiUrl ?? server.apiUrl;
  return {
    ...parsed,
    tokenIssuerUrl: parsed.tokenIssuerUrl ?? server.apiUrl,
    server: {
      ...server,
      uiUrl,
      corsAllowedOrigins: server.corsAllowedOrigins ?? [uiUrl],
      clientIpHeader: server.clientIpHeader ?? (isLoopbackUrl(server.apiUrl) ? 'none' : 'cf-connecting-ip'),
    },
    jwsProvider: { ...jwsProvider, tags: jwsProvider.tags ?? {} },
    sso: {
      ...sso,
      enabledProviders: sso.enabledProviders ?? [],
      emailDomainWhitelist: (sso.emailDomainWhitelist ?? []).map((domain) => domain.toLowerCase()),
    },
    /** Variables that were set but have no meaning on Workers, with the reason. */
    notApplicable,
  };
}

/** The parsed configuration: its type is inferred from the declarations in ./variables. */
export type PhobosConfig = ReturnType<typeof withComputedDefaults>;

/** Parses and validates the environment. Throws ConfigError listing every problem. */
export function loadConfig(env: Environment): PhobosConfig {
  const reader = new EnvironmentReader(env);
  const parsed = readSection(configDeclaration, reader);
  if (reader.issues.length > 0) throw new ConfigError(reader.issues);
  return withComputedDefaults(parsed, reader.notApplicable);
}
