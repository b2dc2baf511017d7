// Parses the environment into one typed configuration object. Runs in the Worker (env bindings)
// and in the Node-side tools (process.env after NAME_FILE resolution). Every problem is collected
// and reported together, each naming its variable, so an operator fixes them in one pass.
import type { RequestRate } from './kinds';
import { isPresetSlug, ssoPresets } from './sso-presets';
import { indexedFamilies, variables, type VariableName, type VariableSpec } from './variables';

export type Environment = Record<string, string | undefined>;

export interface ConfigIssue {
  variable: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(
      `Invalid configuration:\n${issues.map((issue) => `  - ${issue.variable}: ${issue.message}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

export interface OAuthProviderConfig {
  index: number;
  issuerUrl: string;
  clientId: string;
  clientSecret: string | undefined;
  usernameClaim: string;
  scope: string;
}

export interface InternalAgentConfig {
  index: number;
  name: string;
  jobDispatcherType: 'local' | 'docker' | 'kubernetes' | 'ecs';
  jobDispatcherData: Record<string, string>;
}

type ValueOf<N extends VariableName> = (typeof variables)[N] extends VariableSpec<infer T> ? T : never;

export interface PhobosConfig {
  admin: { email: string | undefined; password: string | undefined };
  database: {
    username: string | undefined;
    name: string | undefined;
    password: string | undefined;
    host: string | undefined;
    port: number;
    sslMode: ValueOf<'PHOBOS_DB_SSL_MODE'>;
    maxConnections: number;
    autoMigrateEnabled: boolean;
    proxyUrl: string | undefined;
  };
  oauthProviders: OAuthProviderConfig[];
  internalIdentityProviderClientId: string;
  tokenIssuerUrl: string;
  signingKeys: { rotationPeriodDays: number; decommissionPeriodDays: number };
  userSessions: { accessTokenExpirationMinutes: number; refreshTokenExpirationMinutes: number; maxSessionsPerUser: number };
  server: {
    apiUrl: string;
    uiUrl: string;
    supportUrl: string | undefined;
    httpPort: number;
    corsAllowedOrigins: string[];
    httpRateLimit: RequestRate;
    clientIpHeader: ValueOf<'PHOBOS_CLIENT_IP_HEADER'>;
    maxGraphqlComplexity: number;
    asyncTaskTimeoutSeconds: number;
    templateMaxUploadSize: number;
    pluginBinaryMaxUploadSize: number;
  };
  objectStore: {
    type: ValueOf<'PHOBOS_OBJECT_STORE_PLUGIN_TYPE'>;
    bucket: string | undefined;
    region: string | undefined;
    accessKeyId: string | undefined;
    secretAccessKey: string | undefined;
    endpoint: string | undefined;
  };
  jwsProvider: {
    type: ValueOf<'PHOBOS_JWS_PROVIDER_PLUGIN_TYPE'>;
    region: string | undefined;
    keySpec: ValueOf<'PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_SPEC'>;
    aliasPrefix: string;
    tags: Record<string, string>;
    endpoint: string | undefined;
    accessKeyId: string | undefined;
    secretAccessKey: string | undefined;
    keyEncryptionKey: string | undefined;
  };
  internalAgents: InternalAgentConfig[];
  otel: { enabled: boolean; type: ValueOf<'PHOBOS_OTEL_TRACE_TYPE'>; host: string | undefined; port: number };
  rateLimitStore: {
    type: ValueOf<'PHOBOS_RATE_LIMIT_STORE_PLUGIN_TYPE'>;
    redisEndpoint: string | undefined;
    redisToken: string | undefined;
  };
  email: {
    type: ValueOf<'PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE'>;
    footer: string | undefined;
    smtpHost: string | undefined;
    smtpPort: number;
    fromAddress: string | undefined;
    smtpUsername: string | undefined;
    smtpPassword: string | undefined;
    disableTls: boolean;
    awsConfigurationSetName: string | undefined;
    region: string | undefined;
    endpoint: string | undefined;
    apiKey: string | undefined;
  };
  sso: {
    enabledProviders: string[];
    emailDomainWhitelist: string[];
    loginBannerText: string | undefined;
    /** Raw preset variables (GOOGLE_CLIENT_ID, ...), read by auth/sso. */
    presetVariables: Partial<Record<VariableName, string>>;
  };
  debug: boolean;
  /** Variables that were set but have no meaning on Workers, with the reason. */
  notApplicable: ConfigIssue[];
}

function describeExpected(spec: VariableSpec, raw: string): string {
  // Never echo a secret's value back, even in an error.
  const shown = spec.secret ? '(hidden)' : JSON.stringify(raw.length > 80 ? `${raw.slice(0, 80)}…` : raw);
  return `expected ${spec.kind.expected}, got ${shown}`;
}

class EnvironmentReader {
  readonly issues: ConfigIssue[] = [];
  readonly notApplicable: ConfigIssue[] = [];

  constructor(private readonly env: Environment) {}

  raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value === '' ? undefined : value;
  }

  parse<T>(name: string, spec: VariableSpec<T>): T | undefined {
    const raw = this.raw(name) ?? spec.default;
    if (raw === undefined) return undefined;
    const result = spec.kind.schema.safeParse(raw);
    if (!result.success) {
      this.issues.push({ variable: name, message: describeExpected(spec, raw) });
      return undefined;
    }
    if (spec.notApplicable && this.raw(name) !== undefined) {
      this.notApplicable.push({ variable: name, message: spec.notApplicable });
    }
    return result.data;
  }

  get<N extends VariableName>(name: N): ValueOf<N> | undefined {
    return this.parse(name, variables[name] as VariableSpec<ValueOf<N>>);
  }

  /** For variables with a documented default: the parsed value, never undefined unless invalid. */
  required<N extends VariableName>(name: N): ValueOf<N> {
    return this.get(name) as ValueOf<N>;
  }

  requireWhen(condition: boolean, name: string, reason: string): void {
    if (condition && this.raw(name) === undefined) {
      this.issues.push({ variable: name, message: `is required ${reason}` });
    }
  }

  /** Indices n for which any `${prefix}_<n>_*` variable is set, ascending. */
  indices(prefix: string): number[] {
    const pattern = new RegExp(`^${prefix}_(\\d+)_`);
    const found = new Set<number>();
    for (const name of Object.keys(this.env)) {
      const match = pattern.exec(name);
      if (match && this.raw(name) !== undefined) found.add(Number(match[1]));
    }
    return [...found].sort((a, b) => a - b);
  }

  withPrefix(prefix: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const name of Object.keys(this.env)) {
      const value = this.raw(name);
      if (name.startsWith(prefix) && value !== undefined) out[name.slice(prefix.length)] = value;
    }
    return out;
  }
}

function readOAuthProviders(reader: EnvironmentReader): OAuthProviderConfig[] {
  const family = indexedFamilies.PHOBOS_OAUTH_PROVIDERS;
  return reader.indices('PHOBOS_OAUTH_PROVIDERS').flatMap((index) => {
    const name = (field: keyof typeof family.fields) => `PHOBOS_OAUTH_PROVIDERS_${index}_${field}`;
    reader.requireWhen(true, name('ISSUER_URL'), `for OIDC provider ${index}`);
    reader.requireWhen(true, name('CLIENT_ID'), `for OIDC provider ${index}`);
    const issuerUrl = reader.parse(name('ISSUER_URL'), family.fields.ISSUER_URL);
    const clientId = reader.parse(name('CLIENT_ID'), family.fields.CLIENT_ID);
    const clientSecret = reader.parse(name('CLIENT_SECRET'), family.fields.CLIENT_SECRET);
    const usernameClaim = reader.parse(name('USERNAME_CLAIM'), family.fields.USERNAME_CLAIM)!;
    const scope = reader.parse(name('SCOPE'), family.fields.SCOPE)!;
    if (!issuerUrl || !clientId) return [];
    return [{ index, issuerUrl, clientId, clientSecret, usernameClaim, scope }];
  });
}

function readInternalAgents(reader: EnvironmentReader): InternalAgentConfig[] {
  const family = indexedFamilies.PHOBOS_INTERNAL_AGENTS;
  return reader.indices('PHOBOS_INTERNAL_AGENTS').flatMap((index) => {
    const prefix = `PHOBOS_INTERNAL_AGENTS_${index}_`;
    reader.requireWhen(true, `${prefix}NAME`, `for internal agent ${index}`);
    reader.requireWhen(true, `${prefix}JOB_DISPATCHER_TYPE`, `for internal agent ${index}`);
    const name = reader.parse(`${prefix}NAME`, family.fields.NAME);
    const jobDispatcherType = reader.parse(`${prefix}JOB_DISPATCHER_TYPE`, family.fields.JOB_DISPATCHER_TYPE);
    const jobDispatcherData = reader.withPrefix(`${prefix}${family.dataPrefix}`);
    if (!name || !jobDispatcherType) return [];
    return [{ index, name, jobDispatcherType, jobDispatcherData }];
  });
}

function readPresetVariables(reader: EnvironmentReader): Partial<Record<VariableName, string>> {
  const out: Partial<Record<VariableName, string>> = {};
  for (const [name, spec] of Object.entries(variables) as [VariableName, VariableSpec][]) {
    if (spec.group !== 'SSO presets') continue;
    const value = reader.get(name);
    if (typeof value === 'string') out[name] = value;
  }
  return out;
}

/** A local run (`npm start`, `wrangler dev`): nothing in front of it sets trustworthy headers. */
function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' || /^127\./.test(host);
}

/** Parses and validates the environment. Throws ConfigError listing every problem. */
export function loadConfig(env: Environment): PhobosConfig {
  const r = new EnvironmentReader(env);
  const apiUrl = r.required('PHOBOS_API_URL') ?? 'http://localhost:9000';
  const uiUrl = r.get('PHOBOS_UI_URL') ?? apiUrl;
  const jwsType = r.required('PHOBOS_JWS_PROVIDER_PLUGIN_TYPE');
  const rateLimitType = r.required('PHOBOS_RATE_LIMIT_STORE_PLUGIN_TYPE');
  const objectStoreType = r.required('PHOBOS_OBJECT_STORE_PLUGIN_TYPE');
  const emailType = r.required('PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE');
  const otelEnabled = r.required('PHOBOS_OTEL_TRACE_ENABLED');

  r.requireWhen(jwsType === 'awskms', 'PHOBOS_JWS_PROVIDER_PLUGIN_DATA_REGION', 'when PHOBOS_JWS_PROVIDER_PLUGIN_TYPE is awskms');
  r.requireWhen(rateLimitType === 'redis', 'PHOBOS_RATE_LIMIT_STORE_PLUGIN_DATA_REDIS_ENDPOINT', 'when PHOBOS_RATE_LIMIT_STORE_PLUGIN_TYPE is redis');
  r.requireWhen(objectStoreType === 'aws_s3', 'PHOBOS_OBJECT_STORE_PLUGIN_DATA_BUCKET', 'when PHOBOS_OBJECT_STORE_PLUGIN_TYPE is aws_s3');
  r.requireWhen(emailType === 'smtp', 'PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_HOST', 'when PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE is smtp');
  r.requireWhen(emailType === 'smtp' || emailType === 'ses', 'PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_FROM_ADDRESS', `when PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE is ${emailType}`);
  r.requireWhen(emailType === 'plunk', 'PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_API_KEY', 'when PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE is plunk');
  r.requireWhen(otelEnabled === true, 'PHOBOS_OTEL_TRACE_HOST', 'when PHOBOS_OTEL_TRACE_ENABLED is true');

  const config: PhobosConfig = {
    admin: { email: r.get('PHOBOS_ADMIN_USER_EMAIL'), password: r.get('PHOBOS_ADMIN_USER_PASSWORD') },
    database: {
      username: r.get('PHOBOS_DB_USERNAME'),
      name: r.get('PHOBOS_DB_NAME'),
      password: r.get('PHOBOS_DB_PASSWORD'),
      host: r.get('PHOBOS_DB_HOST'),
      port: r.required('PHOBOS_DB_PORT'),
      sslMode: r.required('PHOBOS_DB_SSL_MODE'),
      maxConnections: r.required('PHOBOS_DB_MAX_CONNECTIONS'),
      autoMigrateEnabled: r.required('PHOBOS_DB_AUTO_MIGRATE_ENABLED'),
      proxyUrl: r.get('PHOBOS_DB_PROXY_URL'),
    },
    oauthProviders: readOAuthProviders(r),
    internalIdentityProviderClientId: r.required('PHOBOS_OIDC_INTERNAL_IDENTITY_PROVIDER_CLIENT_ID'),
    tokenIssuerUrl: r.get('PHOBOS_TOKEN_ISSUER_URL') ?? apiUrl,
    signingKeys: {
      rotationPeriodDays: r.required('PHOBOS_ASYMMETRIC_SIGNING_KEY_ROTATION_PERIOD_DAYS'),
      decommissionPeriodDays: r.required('PHOBOS_ASYMMETRIC_SIGNING_KEY_DECOMMISSION_PERIOD_DAYS'),
    },
    userSessions: {
      accessTokenExpirationMinutes: r.required('PHOBOS_USER_SESSION_ACCESS_TOKEN_EXPIRATION_MINUTES'),
      refreshTokenExpirationMinutes: r.required('PHOBOS_USER_SESSION_REFRESH_TOKEN_EXPIRATION_MINUTES'),
      maxSessionsPerUser: r.required('PHOBOS_USER_SESSION_MAX_SESSIONS_PER_USER'),
    },
    server: {
      apiUrl,
      uiUrl,
      supportUrl: r.get('PHOBOS_SUPPORT_URL'),
      httpPort: r.required('PHOBOS_HTTP_SERVER_PORT'),
      corsAllowedOrigins: r.get('PHOBOS_CORS_ALLOWED_ORIGINS') ?? [uiUrl],
      httpRateLimit: r.required('PHOBOS_HTTP_RATE_LIMIT'),
      clientIpHeader: r.get('PHOBOS_CLIENT_IP_HEADER') ?? (isLoopbackUrl(apiUrl) ? 'none' : 'cf-connecting-ip'),
      maxGraphqlComplexity: r.required('PHOBOS_MAX_GRAPHQL_COMPLEXITY'),
      asyncTaskTimeoutSeconds: r.required('PHOBOS_ASYNC_TASK_TIMEOUT'),
      templateMaxUploadSize: r.required('PHOBOS_TEMPLATE_MAX_UPLOAD_SIZE'),
      pluginBinaryMaxUploadSize: r.required('PHOBOS_PLUGIN_BINARY_MAX_UPLOAD_SIZE'),
    },
    objectStore: {
      type: objectStoreType,
      bucket: r.get('PHOBOS_OBJECT_STORE_PLUGIN_DATA_BUCKET'),
      region: r.get('PHOBOS_OBJECT_STORE_PLUGIN_DATA_REGION'),
      accessKeyId: r.get('PHOBOS_OBJECT_STORE_PLUGIN_DATA_AWS_ACCESS_KEY_ID'),
      secretAccessKey: r.get('PHOBOS_OBJECT_STORE_PLUGIN_DATA_AWS_SECRET_ACCESS_KEY'),
      endpoint: r.get('PHOBOS_OBJECT_STORE_PLUGIN_DATA_ENDPOINT'),
    },
    jwsProvider: {
      type: jwsType,
      region: r.get('PHOBOS_JWS_PROVIDER_PLUGIN_DATA_REGION'),
      keySpec: r.required('PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_SPEC'),
      aliasPrefix: r.required('PHOBOS_JWS_PROVIDER_PLUGIN_DATA_ALIAS_PREFIX'),
      tags: r.get('PHOBOS_JWS_PROVIDER_PLUGIN_DATA_TAGS') ?? {},
      endpoint: r.get('PHOBOS_JWS_PROVIDER_PLUGIN_DATA_ENDPOINT'),
      accessKeyId: r.get('PHOBOS_JWS_PROVIDER_PLUGIN_DATA_AWS_ACCESS_KEY_ID'),
      secretAccessKey: r.get('PHOBOS_JWS_PROVIDER_PLUGIN_DATA_AWS_SECRET_ACCESS_KEY'),
      keyEncryptionKey: r.get('PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_ENCRYPTION_KEY'),
    },
    internalAgents: readInternalAgents(r),
    otel: {
      enabled: otelEnabled,
      type: r.required('PHOBOS_OTEL_TRACE_TYPE'),
      host: r.get('PHOBOS_OTEL_TRACE_HOST'),
      port: r.required('PHOBOS_OTEL_TRACE_PORT'),
    },
    rateLimitStore: {
      type: rateLimitType,
      redisEndpoint: r.get('PHOBOS_RATE_LIMIT_STORE_PLUGIN_DATA_REDIS_ENDPOINT'),
      redisToken: r.get('PHOBOS_RATE_LIMIT_STORE_PLUGIN_DATA_REDIS_TOKEN'),
    },
    email: {
      type: emailType,
      footer: r.get('PHOBOS_EMAIL_FOOTER'),
      smtpHost: r.get('PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_HOST'),
      smtpPort: r.required('PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_PORT'),
      fromAddress: r.get('PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_FROM_ADDRESS'),
      smtpUsername: r.get('PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_USERNAME'),
      smtpPassword: r.get('PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_PASSWORD'),
      disableTls: r.required('PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_DISABLE_TLS'),
      awsConfigurationSetName: r.get('PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_AWS_CONFIGURATION_SET_NAME'),
      region: r.get('PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_REGION'),
      endpoint: r.get('PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_ENDPOINT'),
      apiKey: r.get('PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_API_KEY'),
    },
    sso: {
      enabledProviders: r.get('SSO_PROVIDERS') ?? [],
      emailDomainWhitelist: (r.get('USER_EMAIL_DOMAIN_WHITELIST') ?? []).map((domain) => domain.toLowerCase()),
      loginBannerText: r.get('LOGIN_BANNER_TEXT'),
      presetVariables: readPresetVariables(r),
    },
    debug: r.required('DEBUG'),
    notApplicable: r.notApplicable,
  };

  for (const slug of config.sso.enabledProviders) {
    if (!isPresetSlug(slug)) {
      r.issues.push({ variable: 'SSO_PROVIDERS', message: `unknown provider "${slug}" (expected ${Object.keys(ssoPresets).join(', ')})` });
      continue;
    }
    for (const name of ssoPresets[slug].requires) r.requireWhen(true, name, `when SSO_PROVIDERS includes ${slug}`);
  }

  // Read (and so validate and report) the variables that have no meaning on Workers.
  for (const [name, spec] of Object.entries(variables) as [VariableName, VariableSpec][]) {
    if (spec.notApplicable) r.get(name);
  }

  if (r.issues.length > 0) throw new ConfigError(r.issues);
  return config;
}

/** Names of every variable whose value must never be logged (for log redaction). */
export function secretVariableNames(env: Environment): string[] {
  const direct = Object.entries(variables)
    .filter(([, spec]) => (spec as VariableSpec).secret)
    .map(([name]) => name);
  const indexed = Object.keys(env).filter((name) => /^PHOBOS_OAUTH_PROVIDERS_\d+_CLIENT_SECRET$/.test(name));
  return [...direct, ...indexed];
}
