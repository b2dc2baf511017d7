// Every environment variable Phobos Edge reads, declared once: its place in the parsed configuration
// (the property it sits under), its kind, documented default and meaning. Names and defaults follow
// the Phobos API configuration reference (PHOBOS_*) and Phase's secrets and SSO reference (SSO
// presets, USER_EMAIL_DOMAIN_WHITELIST, LOGIN_BANNER_TEXT, DEBUG). The configuration's TypeScript
// type is inferred from these declarations, and README.md's configuration reference is generated from
// them (`npm run docs:config`), in this order.
import { type DeclaredVariable, sectionDeclarations, variableGroup, when } from './declarations';
import { FreeFormData, IndexedFamily } from './indexed-family';
import * as k from './kinds';
import { SsoPresetSelection } from './sso-presets';

const noGrpc = 'Workers serve HTTP only; there is no gRPC server';
const noTls = 'TLS is terminated by the Workers platform (or wrangler dev --local-protocol https)';

const admin = variableGroup('Admin');
const database = variableGroup('Database');
const authentication = variableGroup('Authentication');
const userSessions = variableGroup('User sessions');
const server = variableGroup('Server');
const objectStore = variableGroup('Object store');
const jws = variableGroup('JWS provider');
const observability = variableGroup('Observability');
const rateLimiting = variableGroup('Rate limiting');
const email = variableGroup('Email');
const singleSignOn = variableGroup('Single sign-on');
const diagnostics = variableGroup('Diagnostics');
const oidcProviders = variableGroup('OIDC providers');
const jobExecution = variableGroup('Job execution');
const releasesGroup = variableGroup('Releases');
const railing = variableGroup('Infrastructure railing');

// Plugins of each plugin setting, shared by the setting's kind and README's plugin table.
const objectStorePlugins = ['aws_s3', 'r2'] as const;
const jwsPlugins = ['memory', 'awskms'] as const;
const rateLimitStorePlugins = ['memory', 'redis'] as const;
const emailPlugins = ['smtp', 'ses', 'plunk', 'empty'] as const;
const traceExporters = ['otlp', 'xray'] as const;
const jobDispatchers = ['local', 'docker', 'kubernetes', 'ecs'] as const;

// Plugin types, which other variables' requirements refer to.
const objectStoreType = objectStore.variable('PHOBOS_OBJECT_STORE_PLUGIN_TYPE', k.oneOf(objectStorePlugins), {
  choosesPlugin: objectStorePlugins,
  description: "Object store plugin type: `aws_s3` (S3 or any S3-compatible service) or `r2` (the Worker's R2 binding).",
  default: 'r2',
});
const jwsType = jws.variable('PHOBOS_JWS_PROVIDER_PLUGIN_TYPE', k.oneOf(jwsPlugins), {
  choosesPlugin: jwsPlugins,
  description: 'JWS provider plugin type: `memory` or `awskms`.',
  default: 'memory',
});
const otelEnabled = observability.variable('PHOBOS_OTEL_TRACE_ENABLED', k.boolean, { description: 'Enable OpenTelemetry tracing.', default: 'false' });
const rateLimitStoreType = rateLimiting.variable('PHOBOS_RATE_LIMIT_STORE_PLUGIN_TYPE', k.oneOf(rateLimitStorePlugins), {
  choosesPlugin: rateLimitStorePlugins,
  description: 'Rate limit store plugin type: `memory` (RateLimiter Durable Object) or `redis` (Upstash Redis REST).',
  default: 'memory',
});
const emailType = email.variable('PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE', k.oneOf(emailPlugins), {
  choosesPlugin: emailPlugins,
  description: 'Email client plugin type: smtp, ses, plunk, or empty (disabled).',
  default: 'empty',
});
const proxmoxApiUrl = railing.variable('PHOBOS_PROXMOX_API_URL', k.url, {
  description:
    'Base URL of the Proxmox VE API (e.g. `https://pve.example.com:8006`) that `/api/v1/infra` and `/api/v1/ve` call directly when `PHOENIX_RAILING_URL` is unset. Unset: those routes answer 503.',
  edge: true,
});
const ssoProviders = singleSignOn.variable('SSO_PROVIDERS', k.commaList, {
  description:
    'Comma-separated list of enabled SSO presets: google, github, gitlab, github-enterprise, google-oidc, authentik, authelia, jumpcloud-oidc, entra-id-oidc, okta-oidc.',
});

export const configDeclaration = {
  admin: {
    email: admin.variable('PHOBOS_ADMIN_USER_EMAIL', k.email, { description: 'Email for the default API admin user (built-in identity provider).' }),
    password: admin.variable('PHOBOS_ADMIN_USER_PASSWORD', k.nonEmptyText, { description: 'Password for the default API admin user.', secret: true }),
  },
  database: {
    username: database.variable('PHOBOS_DB_USERNAME', k.nonEmptyText, { description: 'The username for the PostgreSQL database.' }),
    name: database.variable('PHOBOS_DB_NAME', k.nonEmptyText, { description: 'Name of the PostgreSQL database.' }),
    password: database.variable('PHOBOS_DB_PASSWORD', k.text, { description: 'The password for the PostgreSQL database.', secret: true }),
    host: database.variable('PHOBOS_DB_HOST', k.nonEmptyText, {
      description:
        'Host address for the database. Unset: `npm start` runs the embedded PostgreSQL server. A Worker with a `HYPERDRIVE` binding reads neither this nor the other connection variables (`npm run deploy` still migrates by them).',
    }),
    port: database.variable('PHOBOS_DB_PORT', k.port, { description: 'Port number for the database.', default: '5432' }),
    sslMode: database.variable('PHOBOS_DB_SSL_MODE', k.oneOf(['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']), {
      description: 'SSL mode for the database connection.',
      default: 'prefer',
    }),
    maxConnections: database.variable('PHOBOS_DB_MAX_CONNECTIONS', k.integer(1, 1000), {
      description:
        'Maximum number of database connections held by the Node-side tools and the local bridge (a Worker request holds none over Neon HTTP, at most five through Hyperdrive).',
      default: '10',
    }),
    autoMigrateEnabled: database.variable('PHOBOS_DB_AUTO_MIGRATE_ENABLED', k.boolean, {
      description: 'Automatically run database migrations on startup.',
      default: 'true',
    }),
    proxyUrl: database.variable('PHOBOS_DB_PROXY_URL', k.url, {
      description:
        'Neon-compatible proxy (WebSocket + HTTP `/sql`) in front of PostgreSQL. `npm start` sets it to its local bridge; unset in production on Neon, and not read with a `HYPERDRIVE` binding.',
      edge: true,
    }),
  },
  internalIdentityProviderClientId: authentication.variable('PHOBOS_OIDC_INTERNAL_IDENTITY_PROVIDER_CLIENT_ID', k.nonEmptyText, {
    description: 'Client ID for the internal OIDC identity provider.',
    default: 'phobos',
  }),
  tokenIssuerUrl: authentication.variable('PHOBOS_TOKEN_ISSUER_URL', k.url, {
    description: 'Issuer URL for Phobos service account tokens.',
    defaultText: 'the API URL',
  }),
  signingKeys: {
    rotationPeriodDays: authentication.variable('PHOBOS_ASYMMETRIC_SIGNING_KEY_ROTATION_PERIOD_DAYS', k.integer(0), {
      description: 'Days after which an asymmetric signing key is rotated. 0 disables rotation.',
      default: '0',
    }),
    decommissionPeriodDays: authentication.variable('PHOBOS_ASYMMETRIC_SIGNING_KEY_DECOMMISSION_PERIOD_DAYS', k.integer(0), {
      description: 'Days after which a rotated signing key is decommissioned.',
      default: '7',
    }),
  },
  userSessions: {
    accessTokenExpirationMinutes: userSessions.variable('PHOBOS_USER_SESSION_ACCESS_TOKEN_EXPIRATION_MINUTES', k.integer(1), {
      description: 'Access token expiration time in minutes.',
      default: '5',
    }),
    refreshTokenExpirationMinutes: userSessions.variable('PHOBOS_USER_SESSION_REFRESH_TOKEN_EXPIRATION_MINUTES', k.integer(1), {
      description: 'Refresh token expiration time in minutes.',
      default: '720',
    }),
    maxSessionsPerUser: userSessions.variable('PHOBOS_USER_SESSION_MAX_SESSIONS_PER_USER', k.integer(1), {
      description: 'Maximum concurrent sessions per user; the oldest is revoked.',
      default: '20',
    }),
  },
  server: {
    apiUrl: server.variable('PHOBOS_API_URL', k.url, { description: 'External URL where the Phobos API is accessible.', default: 'http://localhost:9000' }),
    uiUrl: server.variable('PHOBOS_UI_URL', k.url, { description: 'External URL for the Phobos UI.', defaultText: 'the API URL' }),
    supportUrl: server.variable('PHOBOS_SUPPORT_URL', k.url, { description: 'URL to display for support links.' }),
    httpPort: server.variable('PHOBOS_HTTP_SERVER_PORT', k.port, {
      description: 'HTTP server port (`npm start`; on Workers the platform chooses).',
      default: '9000',
    }),
    grpcPort: server.notApplicable('PHOBOS_GRPC_SERVER_PORT', k.port, { description: 'gRPC server port.', default: '9010', notApplicable: noGrpc }),
    externalGrpcPort: server.notApplicable('PHOBOS_EXTERNAL_GRPC_PORT', k.port, {
      description: 'External gRPC port when using a reverse proxy.',
      defaultText: 'the gRPC server port',
      notApplicable: noGrpc,
    }),
    tlsEnabled: server.notApplicable('PHOBOS_TLS_ENABLED', k.boolean, {
      description: 'Enable TLS for the API server.',
      default: 'false',
      notApplicable: noTls,
    }),
    tlsCertFile: server.notApplicable('PHOBOS_TLS_CERT_FILE', k.text, { description: 'Path to the TLS certificate file.', notApplicable: noTls }),
    tlsKeyFile: server.notApplicable('PHOBOS_TLS_KEY_FILE', k.text, { description: 'Path to the TLS key file.', notApplicable: noTls }),
    corsAllowedOrigins: server.variable('PHOBOS_CORS_ALLOWED_ORIGINS', k.urlList, {
      description: 'Comma-delimited list of allowed CORS origins.',
      defaultText: 'the UI URL',
    }),
    httpRateLimit: server.variable('PHOBOS_HTTP_RATE_LIMIT', k.requestRate, {
      description:
        'HTTP requests per second allowed per client; also accepts `N/period` (s, m, h, d), e.g. `100/minute`. `0` turns rate limiting off (Phobos Edge addition).',
      default: '60',
    }),
    clientIpHeader: server.variable('PHOBOS_CLIENT_IP_HEADER', k.oneOf(['cf-connecting-ip', 'x-forwarded-for', 'none']), {
      description:
        "Where a client's address (rate limiting, sign-in throttling) is read: `cf-connecting-ip` (Cloudflare's edge sets it and overwrites what a client sends), `x-forwarded-for` (its last hop, for a proxy of your own in front), or `none` (every client counts as the address `unknown`). A local server (`npm start`, `wrangler dev`) passes a client's headers through unchanged, so there no header can be trusted.",
      defaultText: '`cf-connecting-ip`; `none` when PHOBOS_API_URL is a loopback URL',
      edge: true,
    }),
    maxGraphqlComplexity: server.variable('PHOBOS_MAX_GRAPHQL_COMPLEXITY', k.integer(0), {
      description: 'Maximum allowed GraphQL query complexity. 0 applies the default ceiling of 10000 (list arguments and page sizes always count).',
      default: '0',
    }),
    asyncTaskTimeoutSeconds: server.variable('PHOBOS_ASYNC_TASK_TIMEOUT', k.integer(1), {
      description: 'Timeout in seconds for async background tasks.',
      default: '100',
    }),
    templateMaxUploadSize: server.variable('PHOBOS_TEMPLATE_MAX_UPLOAD_SIZE', k.integer(1), {
      description: 'Maximum upload size in bytes for pipeline templates.',
      default: '131072',
    }),
    pluginBinaryMaxUploadSize: server.variable('PHOBOS_PLUGIN_BINARY_MAX_UPLOAD_SIZE', k.integer(1), {
      description: 'Maximum upload size in bytes for plugin binaries.',
      default: '1073741824',
    }),
  },
  objectStore: {
    type: objectStoreType,
    bucket: objectStore.variable('PHOBOS_OBJECT_STORE_PLUGIN_DATA_BUCKET', k.nonEmptyText, {
      usedBy: ['aws_s3'],
      description: 'Name of the bucket where objects will be stored (aws_s3).',
      requiredWhen: when(objectStoreType, 'aws_s3'),
    }),
    region: objectStore.variable('PHOBOS_OBJECT_STORE_PLUGIN_DATA_REGION', k.nonEmptyText, {
      usedBy: ['aws_s3'],
      description: 'Region where the object store is hosted (aws_s3).',
    }),
    accessKeyId: objectStore.variable('PHOBOS_OBJECT_STORE_PLUGIN_DATA_AWS_ACCESS_KEY_ID', k.nonEmptyText, {
      usedBy: ['aws_s3'],
      description: 'AWS access key ID used to access the object store.',
    }),
    secretAccessKey: objectStore.variable('PHOBOS_OBJECT_STORE_PLUGIN_DATA_AWS_SECRET_ACCESS_KEY', k.nonEmptyText, {
      usedBy: ['aws_s3'],
      description: 'AWS secret access key used to access the object store.',
      secret: true,
    }),
    endpoint: objectStore.variable('PHOBOS_OBJECT_STORE_PLUGIN_DATA_ENDPOINT', k.url, {
      usedBy: ['aws_s3'],
      description: 'Custom endpoint URL (e.g. for Minio).',
    }),
  },
  jwsProvider: {
    type: jwsType,
    region: jws.variable('PHOBOS_JWS_PROVIDER_PLUGIN_DATA_REGION', k.nonEmptyText, {
      usedBy: ['awskms'],
      description: 'AWS region where the KMS key is hosted. Required for awskms.',
      requiredWhen: when(jwsType, 'awskms'),
    }),
    keySpec: jws.variable('PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_SPEC', k.oneOf(['RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384']), {
      usedBy: ['awskms'],
      description: 'KMS key spec.',
      default: 'RSA_2048',
    }),
    aliasPrefix: jws.variable('PHOBOS_JWS_PROVIDER_PLUGIN_DATA_ALIAS_PREFIX', k.nonEmptyText, {
      usedBy: ['awskms'],
      description: 'Prefix for the KMS key alias.',
      default: 'phobos',
    }),
    tags: jws.variable('PHOBOS_JWS_PROVIDER_PLUGIN_DATA_TAGS', k.keyValueList, {
      usedBy: ['awskms'],
      description: 'Comma-separated key=value tags for the KMS key.',
    }),
    endpoint: jws.variable('PHOBOS_JWS_PROVIDER_PLUGIN_DATA_ENDPOINT', k.url, {
      usedBy: ['awskms'],
      description: 'KMS endpoint override (a KMS-compatible service).',
      edge: true,
    }),
    accessKeyId: jws.variable('PHOBOS_JWS_PROVIDER_PLUGIN_DATA_AWS_ACCESS_KEY_ID', k.nonEmptyText, {
      usedBy: ['awskms'],
      description: 'AWS access key ID for KMS (Workers have no instance role).',
      edge: true,
    }),
    secretAccessKey: jws.variable('PHOBOS_JWS_PROVIDER_PLUGIN_DATA_AWS_SECRET_ACCESS_KEY', k.nonEmptyText, {
      usedBy: ['awskms'],
      description: 'AWS secret access key for KMS.',
      secret: true,
      edge: true,
    }),
    keyEncryptionKey: jws.variable('PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_ENCRYPTION_KEY', k.nonEmptyText, {
      usedBy: ['memory'],
      description:
        'Secret from which the memory provider derives the key that encrypts private signing keys at rest. Required in production; `npm start` generates one under .phobos/.',
      secret: true,
      edge: true,
    }),
  },
  otel: {
    enabled: otelEnabled,
    type: observability.variable('PHOBOS_OTEL_TRACE_TYPE', k.oneOf(traceExporters), {
      choosesPlugin: traceExporters,
      description: 'Type of tracing exporter: otlp or xray.',
      default: 'otlp',
    }),
    host: observability.variable('PHOBOS_OTEL_TRACE_HOST', k.host, {
      description: 'Host to send trace data to.',
      requiredWhen: when(otelEnabled, true),
    }),
    port: observability.variable('PHOBOS_OTEL_TRACE_PORT', k.port, { description: 'Port to send trace data to (OTLP over HTTP on Workers).', default: '4318' }),
  },
  rateLimitStore: {
    type: rateLimitStoreType,
    redisEndpoint: rateLimiting.variable('PHOBOS_RATE_LIMIT_STORE_PLUGIN_DATA_REDIS_ENDPOINT', k.url, {
      usedBy: ['redis'],
      description: 'Redis connection URL (an Upstash-compatible REST endpoint). Required for redis.',
      requiredWhen: when(rateLimitStoreType, 'redis'),
    }),
    redisToken: rateLimiting.variable('PHOBOS_RATE_LIMIT_STORE_PLUGIN_DATA_REDIS_TOKEN', k.nonEmptyText, {
      usedBy: ['redis'],
      description: 'Bearer token for the Redis REST endpoint.',
      secret: true,
      edge: true,
    }),
  },
  email: {
    type: emailType,
    footer: email.variable('PHOBOS_EMAIL_FOOTER', k.text, {
      usedBy: ['smtp', 'ses', 'plunk'],
      description: 'Footer text for emails sent by Phobos.',
    }),
    smtpHost: email.variable('PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_HOST', k.nonEmptyText, {
      usedBy: ['smtp'],
      description: 'SMTP server hostname.',
      requiredWhen: when(emailType, 'smtp'),
    }),
    smtpPort: email.variable('PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_PORT', k.port, {
      usedBy: ['smtp'],
      description: 'SMTP server port.',
      default: '587',
    }),
    fromAddress: email.variable('PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_FROM_ADDRESS', k.email, {
      usedBy: ['smtp', 'ses', 'plunk'],
      description: 'Sender email address (smtp, ses).',
      requiredWhen: when(emailType, 'smtp', 'ses'),
    }),
    smtpUsername: email.variable('PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_USERNAME', k.nonEmptyText, {
      usedBy: ['smtp'],
      description: 'SMTP authentication username.',
    }),
    smtpPassword: email.variable('PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_PASSWORD', k.text, {
      usedBy: ['smtp'],
      description: 'SMTP authentication password.',
      secret: true,
    }),
    disableTls: email.variable('PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_DISABLE_TLS', k.boolean, {
      usedBy: ['smtp'],
      description: 'Disable TLS for the SMTP connection.',
      default: 'false',
    }),
    awsConfigurationSetName: email.variable('PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_AWS_CONFIGURATION_SET_NAME', k.nonEmptyText, {
      usedBy: ['ses'],
      description: 'AWS SES configuration set name.',
    }),
    region: email.variable('PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_REGION', k.nonEmptyText, {
      usedBy: ['ses'],
      description: 'AWS region for SES.',
      requiredWhen: when(emailType, 'ses'),
    }),
    endpoint: email.variable('PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_ENDPOINT', k.url, {
      usedBy: ['ses', 'plunk'],
      description: 'Plunk API endpoint (default `https://api.useplunk.com`); for ses, an endpoint override (default `https://email.{region}.amazonaws.com`).',
    }),
    awsAccessKeyId: email.variable('PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_AWS_ACCESS_KEY_ID', k.nonEmptyText, {
      usedBy: ['ses'],
      description: 'AWS access key ID for SES (Workers have no instance role).',
      requiredWhen: when(emailType, 'ses'),
      edge: true,
    }),
    awsSecretAccessKey: email.variable('PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_AWS_SECRET_ACCESS_KEY', k.nonEmptyText, {
      usedBy: ['ses'],
      description: 'AWS secret access key for SES.',
      secret: true,
      requiredWhen: when(emailType, 'ses'),
      edge: true,
    }),
    apiKey: email.variable('PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_API_KEY', k.nonEmptyText, {
      usedBy: ['plunk'],
      description: 'Plunk API key.',
      secret: true,
      requiredWhen: when(emailType, 'plunk'),
    }),
  },
  releases: {
    dueDateWarningHours: releasesGroup.variable('PHOBOS_RELEASE_DUE_DATE_WARNING_HOURS', k.integer(1), {
      description: "Hours before its due date that a release still under way is flagged APPROACHING (its `dueState`, and the cron trigger's notice).",
      default: '24',
      edge: true,
    }),
  },
  jobLogs: {
    maxBytes: jobExecution.variable('PHOBOS_JOB_LOG_MAX_BYTES', k.integer(1024, 1024 * 1024 * 1024), {
      description:
        "Largest a job's log may grow, in bytes: output past it is dropped, the log ends with a truncation notice and the job's `logTruncated` is true.",
      default: '10485760',
      edge: true,
    }),
    retentionDays: jobExecution.variable('PHOBOS_JOB_LOG_RETENTION_DAYS', k.integer(0, 36500), {
      description: "Days a finished job's log is kept in the object store after the job ended; the hourly clean-up deletes older ones. 0 keeps logs forever.",
      default: '90',
      edge: true,
    }),
  },
  agents: {
    leaseSeconds: jobExecution.variable('PHOBOS_AGENT_LEASE_SECONDS', k.integer(10, 3600), {
      description:
        "How long an agent's lease on a job lives without a heartbeat; when it expires the job goes back to the queue (or fails at its lease limit). Agents heartbeat about every third of it, and a session not heard from for about two heartbeats is inactive.",
      default: '90',
      edge: true,
    }),
  },
  // The REST railing's backends (/api/v1/infra, /ve, /health, /tenants): a Phoenix railing to proxy
  // to, or Proxmox VE, Prometheus and Alertmanager called directly.
  railing: {
    phoenixRailingUrl: railing.variable('PHOENIX_RAILING_URL', k.url, {
      description:
        "A Phoenix API railing to proxy `/api/v1` infrastructure, VM and health routes to, with the caller's credential forwarded and responses passed through. Unset: Phobos Edge calls Proxmox VE, Prometheus and Alertmanager itself.",
      edge: true,
    }),
    upstreamTimeoutSeconds: railing.variable('PHOBOS_RAILING_UPSTREAM_TIMEOUT_SECONDS', k.integer(1, 25), {
      description: 'How long a railing route waits for its upstream (the Phoenix railing, Proxmox VE, Prometheus, Alertmanager) before answering 504.',
      default: '10',
      edge: true,
    }),
    cacheSeconds: railing.variable('PHOBOS_RAILING_CACHE_SECONDS', k.integer(0, 300), {
      description: 'How long node and storage lists are reused before Proxmox VE is asked again (0: never cached). VM actions and statuses are never cached.',
      default: '15',
      edge: true,
    }),
    proxmox: {
      apiUrl: proxmoxApiUrl,
      apiTokenId: railing.variable('PHOBOS_PROXMOX_API_TOKEN_ID', k.nonEmptyText, {
        description: 'Proxmox VE API token id, `USER@REALM!TOKENID` (needed with `PHOBOS_PROXMOX_API_URL`).',
        edge: true,
      }),
      apiTokenSecret: railing.variable('PHOBOS_PROXMOX_API_TOKEN_SECRET', k.nonEmptyText, {
        description: "The API token's secret (a UUID).",
        secret: true,
        edge: true,
      }),
      tlsVerify: railing.variable('PHOBOS_PROXMOX_TLS_VERIFY', k.boolean, {
        description: "Verify the Proxmox VE API's TLS certificate.",
        default: 'true',
        edge: true,
      }),
    },
    prometheusUrl: railing.variable('PHOBOS_PROMETHEUS_URL', k.url, {
      description: 'Base URL of the Prometheus server behind `/api/v1/health` (summary and metrics). Unset: those routes answer 503.',
      edge: true,
    }),
    alertmanagerUrl: railing.variable('PHOBOS_ALERTMANAGER_URL', k.url, {
      description:
        "Base URL of the Alertmanager behind `/api/v1/health/alerts`, the summary's alert counts and `/api/v1/tenants/me/health` (a tenant's alerts are those whose `tenant` label is its organization's name). Unset: no alerts are reported, and a tenant's health is `unknown`.",
      edge: true,
    }),
    promqlMaxLength: railing.variable('PHOBOS_PROMQL_MAX_LENGTH', k.integer(16, 65536), {
      description: 'Longest PromQL expression `/api/v1/health/metrics` accepts, in characters; a longer one answers 400 naming `query`.',
      default: '2000',
      edge: true,
    }),
  },
  // Callback of every SSO provider: ${PHOBOS_API_URL}/auth/callback/<slug>.
  sso: {
    enabledProviders: ssoProviders,
    emailDomainWhitelist: singleSignOn.variable('USER_EMAIL_DOMAIN_WHITELIST', k.commaList, {
      description: 'Comma-separated email domains allowed to sign up through SSO. Unset allows all.',
    }),
    loginBannerText: singleSignOn.variable('LOGIN_BANNER_TEXT', k.boundedText(512), {
      description: 'Message shown on the built-in login page (max 512 characters).',
    }),
    presets: new SsoPresetSelection(ssoProviders),
  },
  debug: diagnostics.variable('DEBUG', k.boolean, {
    description: 'Debug logging (includes where each secret was loaded from, never its value). Never in production.',
    default: 'false',
  }),
  oauthProviders: new IndexedFamily('PHOBOS_OAUTH_PROVIDERS', 'OIDC provider', 'OIDC providers', {
    issuerUrl: oidcProviders.required('ISSUER_URL', k.url, { description: "Configured OIDC provider's issuer URL (required for each provider)." }),
    clientId: oidcProviders.required('CLIENT_ID', k.nonEmptyText, { description: 'Client ID for identity provider (required for each provider).' }),
    usernameClaim: oidcProviders.variable('USERNAME_CLAIM', k.nonEmptyText, { description: 'Supported username claim.', default: 'sub' }),
    tenantClaim: oidcProviders.variable('TENANT_CLAIM', k.nonEmptyText, {
      description:
        "Claim of the provider's bearer tokens naming the organization the token acts in (its tenant): such a token is narrowed to that organization, like an organization-scoped API key. A token naming no existing organization is refused.",
      default: 'tenant',
    }),
    scope: oidcProviders.variable('SCOPE', k.nonEmptyText, { description: 'OAuth scopes used by the Phobos UI.', default: 'openid profile email' }),
    clientSecret: oidcProviders.variable('CLIENT_SECRET', k.nonEmptyText, {
      description: 'Client secret, for providers that require a confidential client.',
      secret: true,
      edge: true,
    }),
  }),
  internalAgents: new IndexedFamily('PHOBOS_INTERNAL_AGENTS', 'internal agent', 'Job execution', {
    name: jobExecution.required('NAME', k.nonEmptyText, { description: 'Name of the internal agent (required for each agent).' }),
    jobDispatcherType: jobExecution.required('JOB_DISPATCHER_TYPE', k.oneOf(jobDispatchers), {
      choosesPlugin: jobDispatchers,
      description: 'Job dispatcher type: local, docker, kubernetes, or ecs (required for each agent).',
    }),
    jobDispatcherData: new FreeFormData('JOB_DISPATCHER_DATA_', 'Key-value configuration for the job dispatcher plugin.'),
  }),
};

/** Every declared variable, in README order (indexed families as `<FAMILY>_<n>_<FIELD>`). */
export const declaredVariables: DeclaredVariable[] = sectionDeclarations(configDeclaration);

const plainNames = new Set(declaredVariables.filter((variable) => !variable.family).map((variable) => variable.name));
const familyPrefixes = [...new Set(declaredVariables.flatMap((variable) => (variable.family ? [variable.family] : [])))];

/** Whether Phobos Edge reads `name` (so NAME_FILE resolves it and the local Worker receives it). */
export function isConfigurationVariable(name: string): boolean {
  return plainNames.has(name) || familyPrefixes.some((family) => name.startsWith(`${family}_`));
}
