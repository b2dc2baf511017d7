// Every environment variable Phobos Edge reads, with its kind, documented default and meaning.
// Names and defaults follow the Phobos API configuration reference (PHOBOS_*) and Phase's secrets
// and SSO reference (SSO presets, USER_EMAIL_DOMAIN_WHITELIST, LOGIN_BANNER_TEXT, DEBUG).
// README.md's configuration reference is generated from this list (`npm run docs:config`).
import * as k from './kinds';

export interface VariableSpec<T = unknown> {
  kind: k.VariableKind<T>;
  group: string;
  description: string;
  /** Default as documented (a raw string, parsed by `kind` like any value). */
  default?: string;
  /** Human wording for a computed default, e.g. "the API URL". */
  defaultText?: string;
  /** Never logged or returned; may be given as NAME_FILE. */
  secret?: boolean;
  /** Accepted for compatibility but meaningless on Workers; reported once when set. */
  notApplicable?: string;
  /** Not in the Phobos reference: added by Phobos Edge. */
  edge?: boolean;
}

function spec<T>(value: VariableSpec<T>): VariableSpec<T> {
  return value;
}

const noGrpc = 'Workers serve HTTP only; there is no gRPC server';
const noTls = 'TLS is terminated by the Workers platform (or wrangler dev --local-protocol https)';

export const variables = {
  // Admin
  PHOBOS_ADMIN_USER_EMAIL: spec({ kind: k.email, group: 'Admin', description: 'Email for the default API admin user (built-in identity provider).' }),
  PHOBOS_ADMIN_USER_PASSWORD: spec({ kind: k.nonEmptyText, group: 'Admin', description: 'Password for the default API admin user.', secret: true }),

  // Database
  PHOBOS_DB_USERNAME: spec({ kind: k.nonEmptyText, group: 'Database', description: 'The username for the PostgreSQL database.' }),
  PHOBOS_DB_NAME: spec({ kind: k.nonEmptyText, group: 'Database', description: 'Name of the PostgreSQL database.' }),
  PHOBOS_DB_PASSWORD: spec({ kind: k.text, group: 'Database', description: 'The password for the PostgreSQL database.', secret: true }),
  PHOBOS_DB_HOST: spec({ kind: k.nonEmptyText, group: 'Database', description: 'Host address for the database. Unset: `npm start` runs the embedded PostgreSQL server.' }),
  PHOBOS_DB_PORT: spec({ kind: k.port, group: 'Database', description: 'Port number for the database.', default: '5432' }),
  PHOBOS_DB_SSL_MODE: spec({ kind: k.oneOf(['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']), group: 'Database', description: 'SSL mode for the database connection.', default: 'prefer' }),
  PHOBOS_DB_MAX_CONNECTIONS: spec({ kind: k.integer(1, 1000), group: 'Database', description: 'Maximum number of database connections held by the Node-side tools and the local bridge (a Worker request uses at most one).', default: '10' }),
  PHOBOS_DB_AUTO_MIGRATE_ENABLED: spec({ kind: k.boolean, group: 'Database', description: 'Automatically run database migrations on startup.', default: 'true' }),
  PHOBOS_DB_PROXY_URL: spec({ kind: k.url, group: 'Database', description: 'Neon-compatible proxy (WebSocket + HTTP `/sql`) in front of PostgreSQL. `npm start` sets it to its local bridge; unset in production on Neon.', edge: true }),

  // Authentication
  PHOBOS_OIDC_INTERNAL_IDENTITY_PROVIDER_CLIENT_ID: spec({ kind: k.nonEmptyText, group: 'Authentication', description: 'Client ID for the internal OIDC identity provider.', default: 'phobos' }),
  PHOBOS_TOKEN_ISSUER_URL: spec({ kind: k.url, group: 'Authentication', description: 'Issuer URL for Phobos service account tokens.', defaultText: 'the API URL' }),
  PHOBOS_ASYMMETRIC_SIGNING_KEY_ROTATION_PERIOD_DAYS: spec({ kind: k.integer(0), group: 'Authentication', description: 'Days after which an asymmetric signing key is rotated. 0 disables rotation.', default: '0' }),
  PHOBOS_ASYMMETRIC_SIGNING_KEY_DECOMMISSION_PERIOD_DAYS: spec({ kind: k.integer(0), group: 'Authentication', description: 'Days after which a rotated signing key is decommissioned.', default: '7' }),

  // User sessions
  PHOBOS_USER_SESSION_ACCESS_TOKEN_EXPIRATION_MINUTES: spec({ kind: k.integer(1), group: 'User sessions', description: 'Access token expiration time in minutes.', default: '5' }),
  PHOBOS_USER_SESSION_REFRESH_TOKEN_EXPIRATION_MINUTES: spec({ kind: k.integer(1), group: 'User sessions', description: 'Refresh token expiration time in minutes.', default: '720' }),
  PHOBOS_USER_SESSION_MAX_SESSIONS_PER_USER: spec({ kind: k.integer(1), group: 'User sessions', description: 'Maximum concurrent sessions per user; the oldest is revoked.', default: '20' }),

  // Server
  PHOBOS_API_URL: spec({ kind: k.url, group: 'Server', description: 'External URL where the Phobos API is accessible.', default: 'http://localhost:9000' }),
  PHOBOS_UI_URL: spec({ kind: k.url, group: 'Server', description: 'External URL for the Phobos UI.', defaultText: 'the API URL' }),
  PHOBOS_SUPPORT_URL: spec({ kind: k.url, group: 'Server', description: 'URL to display for support links.' }),
  PHOBOS_HTTP_SERVER_PORT: spec({ kind: k.port, group: 'Server', description: 'HTTP server port (`npm start`; on Workers the platform chooses).', default: '9000' }),
  PHOBOS_GRPC_SERVER_PORT: spec({ kind: k.port, group: 'Server', description: 'gRPC server port.', default: '9010', notApplicable: noGrpc }),
  PHOBOS_EXTERNAL_GRPC_PORT: spec({ kind: k.port, group: 'Server', description: 'External gRPC port when using a reverse proxy.', defaultText: 'the gRPC server port', notApplicable: noGrpc }),
  PHOBOS_TLS_ENABLED: spec({ kind: k.boolean, group: 'Server', description: 'Enable TLS for the API server.', default: 'false', notApplicable: noTls }),
  PHOBOS_TLS_CERT_FILE: spec({ kind: k.text, group: 'Server', description: 'Path to the TLS certificate file.', notApplicable: noTls }),
  PHOBOS_TLS_KEY_FILE: spec({ kind: k.text, group: 'Server', description: 'Path to the TLS key file.', notApplicable: noTls }),
  PHOBOS_CORS_ALLOWED_ORIGINS: spec({ kind: k.urlList, group: 'Server', description: 'Comma-delimited list of allowed CORS origins.', defaultText: 'the UI URL' }),
  PHOBOS_HTTP_RATE_LIMIT: spec({ kind: k.requestRate, group: 'Server', description: 'HTTP requests per second allowed per client; also accepts `N/period` (s, m, h, d), e.g. `100/minute`. `0` turns rate limiting off (Phobos Edge addition).', default: '60' }),
  PHOBOS_CLIENT_IP_HEADER: spec({ kind: k.oneOf(['cf-connecting-ip', 'x-forwarded-for', 'none']), group: 'Server', description: "Where a client's address (rate limiting, sign-in throttling) is read: `cf-connecting-ip` (Cloudflare's edge sets it and overwrites what a client sends), `x-forwarded-for` (its last hop, for a proxy of your own in front), or `none` (every client counts as the address `unknown`). A local server (`npm start`, `wrangler dev`) passes a client's headers through unchanged, so there no header can be trusted.", defaultText: '`cf-connecting-ip`; `none` when PHOBOS_API_URL is a loopback URL', edge: true }),
  PHOBOS_MAX_GRAPHQL_COMPLEXITY: spec({ kind: k.integer(0), group: 'Server', description: 'Maximum allowed GraphQL query complexity. 0 is unlimited.', default: '0' }),
  PHOBOS_ASYNC_TASK_TIMEOUT: spec({ kind: k.integer(1), group: 'Server', description: 'Timeout in seconds for async background tasks.', default: '100' }),
  PHOBOS_TEMPLATE_MAX_UPLOAD_SIZE: spec({ kind: k.integer(1), group: 'Server', description: 'Maximum upload size in bytes for pipeline templates.', default: '131072' }),
  PHOBOS_PLUGIN_BINARY_MAX_UPLOAD_SIZE: spec({ kind: k.integer(1), group: 'Server', description: 'Maximum upload size in bytes for plugin binaries.', default: '1073741824' }),

  // Object store
  PHOBOS_OBJECT_STORE_PLUGIN_TYPE: spec({ kind: k.oneOf(['aws_s3', 'r2']), group: 'Object store', description: 'Object store plugin type: `aws_s3` (S3 or any S3-compatible service) or `r2` (the Worker\'s R2 binding).', default: 'r2' }),
  PHOBOS_OBJECT_STORE_PLUGIN_DATA_BUCKET: spec({ kind: k.nonEmptyText, group: 'Object store', description: 'Name of the bucket where objects will be stored (aws_s3).' }),
  PHOBOS_OBJECT_STORE_PLUGIN_DATA_REGION: spec({ kind: k.nonEmptyText, group: 'Object store', description: 'Region where the object store is hosted (aws_s3).' }),
  PHOBOS_OBJECT_STORE_PLUGIN_DATA_AWS_ACCESS_KEY_ID: spec({ kind: k.nonEmptyText, group: 'Object store', description: 'AWS access key ID used to access the object store.' }),
  PHOBOS_OBJECT_STORE_PLUGIN_DATA_AWS_SECRET_ACCESS_KEY: spec({ kind: k.nonEmptyText, group: 'Object store', description: 'AWS secret access key used to access the object store.', secret: true }),
  PHOBOS_OBJECT_STORE_PLUGIN_DATA_ENDPOINT: spec({ kind: k.url, group: 'Object store', description: 'Custom endpoint URL (e.g. for Minio).' }),

  // JWS provider
  PHOBOS_JWS_PROVIDER_PLUGIN_TYPE: spec({ kind: k.oneOf(['memory', 'awskms']), group: 'JWS provider', description: 'JWS provider plugin type: `memory` or `awskms`.', default: 'memory' }),
  PHOBOS_JWS_PROVIDER_PLUGIN_DATA_REGION: spec({ kind: k.nonEmptyText, group: 'JWS provider', description: 'AWS region where the KMS key is hosted. Required for awskms.' }),
  PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_SPEC: spec({ kind: k.oneOf(['RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384']), group: 'JWS provider', description: 'KMS key spec.', default: 'RSA_2048' }),
  PHOBOS_JWS_PROVIDER_PLUGIN_DATA_ALIAS_PREFIX: spec({ kind: k.nonEmptyText, group: 'JWS provider', description: 'Prefix for the KMS key alias.', default: 'phobos' }),
  PHOBOS_JWS_PROVIDER_PLUGIN_DATA_TAGS: spec({ kind: k.keyValueList, group: 'JWS provider', description: 'Comma-separated key=value tags for the KMS key.' }),
  PHOBOS_JWS_PROVIDER_PLUGIN_DATA_ENDPOINT: spec({ kind: k.url, group: 'JWS provider', description: 'KMS endpoint override (a KMS-compatible service).', edge: true }),
  PHOBOS_JWS_PROVIDER_PLUGIN_DATA_AWS_ACCESS_KEY_ID: spec({ kind: k.nonEmptyText, group: 'JWS provider', description: 'AWS access key ID for KMS (Workers have no instance role).', edge: true }),
  PHOBOS_JWS_PROVIDER_PLUGIN_DATA_AWS_SECRET_ACCESS_KEY: spec({ kind: k.nonEmptyText, group: 'JWS provider', description: 'AWS secret access key for KMS.', secret: true, edge: true }),
  PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_ENCRYPTION_KEY: spec({ kind: k.nonEmptyText, group: 'JWS provider', description: 'Secret from which the memory provider derives the key that encrypts private signing keys at rest. Required in production; `npm start` generates one under .phobos/.', secret: true, edge: true }),

  // Observability
  PHOBOS_OTEL_TRACE_ENABLED: spec({ kind: k.boolean, group: 'Observability', description: 'Enable OpenTelemetry tracing.', default: 'false' }),
  PHOBOS_OTEL_TRACE_TYPE: spec({ kind: k.oneOf(['otlp', 'xray']), group: 'Observability', description: 'Type of tracing exporter: otlp or xray.', default: 'otlp' }),
  PHOBOS_OTEL_TRACE_HOST: spec({ kind: k.nonEmptyText, group: 'Observability', description: 'Host to send trace data to.' }),
  PHOBOS_OTEL_TRACE_PORT: spec({ kind: k.port, group: 'Observability', description: 'Port to send trace data to (OTLP over HTTP on Workers).', default: '4318' }),

  // Rate limiting
  PHOBOS_RATE_LIMIT_STORE_PLUGIN_TYPE: spec({ kind: k.oneOf(['memory', 'redis']), group: 'Rate limiting', description: 'Rate limit store plugin type: `memory` (RateLimiter Durable Object) or `redis` (Upstash Redis REST).', default: 'memory' }),
  PHOBOS_RATE_LIMIT_STORE_PLUGIN_DATA_REDIS_ENDPOINT: spec({ kind: k.url, group: 'Rate limiting', description: 'Redis connection URL (an Upstash-compatible REST endpoint). Required for redis.' }),
  PHOBOS_RATE_LIMIT_STORE_PLUGIN_DATA_REDIS_TOKEN: spec({ kind: k.nonEmptyText, group: 'Rate limiting', description: 'Bearer token for the Redis REST endpoint.', secret: true, edge: true }),

  // Email
  PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE: spec({ kind: k.oneOf(['smtp', 'ses', 'plunk', 'empty']), group: 'Email', description: 'Email client plugin type: smtp, ses, plunk, or empty (disabled).', default: 'empty' }),
  PHOBOS_EMAIL_FOOTER: spec({ kind: k.text, group: 'Email', description: 'Footer text for emails sent by Phobos.' }),
  PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_HOST: spec({ kind: k.nonEmptyText, group: 'Email', description: 'SMTP server hostname.' }),
  PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_PORT: spec({ kind: k.port, group: 'Email', description: 'SMTP server port.', default: '587' }),
  PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_FROM_ADDRESS: spec({ kind: k.email, group: 'Email', description: 'Sender email address (smtp, ses).' }),
  PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_USERNAME: spec({ kind: k.nonEmptyText, group: 'Email', description: 'SMTP authentication username.' }),
  PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_PASSWORD: spec({ kind: k.text, group: 'Email', description: 'SMTP authentication password.', secret: true }),
  PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_DISABLE_TLS: spec({ kind: k.boolean, group: 'Email', description: 'Disable TLS for the SMTP connection.', default: 'false' }),
  PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_AWS_CONFIGURATION_SET_NAME: spec({ kind: k.nonEmptyText, group: 'Email', description: 'AWS SES configuration set name.' }),
  PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_REGION: spec({ kind: k.nonEmptyText, group: 'Email', description: 'AWS region for SES.' }),
  PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_ENDPOINT: spec({ kind: k.url, group: 'Email', description: 'Plunk API endpoint.' }),
  PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_API_KEY: spec({ kind: k.nonEmptyText, group: 'Email', description: 'Plunk API key.', secret: true }),

  // Single sign-on presets (Phase reference). Callback: ${PHOBOS_API_URL}/auth/callback/<slug>.
  SSO_PROVIDERS: spec({ kind: k.commaList, group: 'Single sign-on', description: 'Comma-separated list of enabled SSO presets: google, github, gitlab, github-enterprise, google-oidc, authentik, authelia, jumpcloud-oidc, entra-id-oidc, okta-oidc.' }),
  USER_EMAIL_DOMAIN_WHITELIST: spec({ kind: k.commaList, group: 'Single sign-on', description: 'Comma-separated email domains allowed to sign up through SSO. Unset allows all.' }),
  LOGIN_BANNER_TEXT: spec({ kind: { schema: k.text.schema.refine((value) => value.length <= 512), expected: 'at most 512 characters' }, group: 'Single sign-on', description: 'Message shown on the built-in login page (max 512 characters).' }),
  GOOGLE_CLIENT_ID: spec({ kind: k.nonEmptyText, group: 'SSO presets', description: 'Google OAuth 2.0 client ID.' }),
  GOOGLE_CLIENT_SECRET: spec({ kind: k.nonEmptyText, group: 'SSO presets', description: 'Google OAuth 2.0 client secret.', secret: true }),
  GITHUB_CLIENT_ID: spec({ kind: k.nonEmptyText, group: 'SSO presets', description: 'GitHub OAuth client ID.' }),
  GITHUB_CLIENT_SECRET: spec({ kind: k.nonEmptyText, group: 'SSO presets', description: 'GitHub OAuth client secret.', secret: true }),
  GITHUB_ENTERPRISE_BASE_URL: spec({ kind: k.url, group: 'SSO presets', description: 'URL of your GitHub Enterprise Server instance.' }),
  GITHUB_ENTERPRISE_API_URL: spec({ kind: k.url, group: 'SSO presets', description: 'API URL of your GitHub Enterprise Server instance (usually BASE_URL + /api).' }),
  GITHUB_ENTERPRISE_CLIENT_ID: spec({ kind: k.nonEmptyText, group: 'SSO presets', description: 'GitHub Enterprise Server OAuth client ID.' }),
  GITHUB_ENTERPRISE_CLIENT_SECRET: spec({ kind: k.nonEmptyText, group: 'SSO presets', description: 'GitHub Enterprise Server OAuth client secret.', secret: true }),
  GITLAB_CLIENT_ID: spec({ kind: k.nonEmptyText, group: 'SSO presets', description: 'GitLab OAuth client ID.' }),
  GITLAB_CLIENT_SECRET: spec({ kind: k.nonEmptyText, group: 'SSO presets', description: 'GitLab OAuth client secret.', secret: true }),
  GITLAB_AUTH_URL: spec({ kind: k.url, group: 'SSO presets', description: 'GitLab instance URL for self-hosted GitLab.', default: 'https://gitlab.com' }),
  AUTHENTIK_CLIENT_ID: spec({ kind: k.nonEmptyText, group: 'SSO presets', description: 'Authentik OIDC client ID.' }),
  AUTHENTIK_CLIENT_SECRET: spec({ kind: k.nonEmptyText, group: 'SSO presets', description: 'Authentik OIDC client secret.', secret: true }),
  AUTHENTIK_URL: spec({ kind: k.url, group: 'SSO presets', description: 'Authentik instance URL.' }),
  AUTHENTIK_APP_SLUG: spec({ kind: k.nonEmptyText, group: 'SSO presets', description: 'Authentik application slug.' }),
  AUTHELIA_CLIENT_ID: spec({ kind: k.nonEmptyText, group: 'SSO presets', description: 'Authelia OIDC client ID.' }),
  AUTHELIA_CLIENT_SECRET: spec({ kind: k.nonEmptyText, group: 'SSO presets', description: 'Authelia OIDC client secret.', secret: true }),
  AUTHELIA_URL: spec({ kind: k.url, group: 'SSO presets', description: 'Authelia instance URL.' }),
  GOOGLE_OIDC_CLIENT_ID: spec({ kind: k.nonEmptyText, group: 'SSO presets', description: 'Google OIDC client ID.' }),
  GOOGLE_OIDC_CLIENT_SECRET: spec({ kind: k.nonEmptyText, group: 'SSO presets', description: 'Google OIDC client secret.', secret: true }),
  JUMPCLOUD_OIDC_CLIENT_ID: spec({ kind: k.nonEmptyText, group: 'SSO presets', description: 'JumpCloud OIDC client ID.' }),
  JUMPCLOUD_OIDC_CLIENT_SECRET: spec({ kind: k.nonEmptyText, group: 'SSO presets', description: 'JumpCloud OIDC client secret.', secret: true }),
  ENTRA_ID_OIDC_TENANT_ID: spec({ kind: k.nonEmptyText, group: 'SSO presets', description: 'Microsoft Entra ID directory (tenant) ID.' }),
  ENTRA_ID_OIDC_CLIENT_ID: spec({ kind: k.nonEmptyText, group: 'SSO presets', description: 'Microsoft Entra ID application (client) ID.' }),
  ENTRA_ID_OIDC_CLIENT_SECRET: spec({ kind: k.nonEmptyText, group: 'SSO presets', description: 'Microsoft Entra ID client secret.', secret: true }),
  OKTA_OIDC_CLIENT_ID: spec({ kind: k.nonEmptyText, group: 'SSO presets', description: 'Okta OIDC application client ID.' }),
  OKTA_OIDC_CLIENT_SECRET: spec({ kind: k.nonEmptyText, group: 'SSO presets', description: 'Okta OIDC application client secret.', secret: true }),
  OKTA_OIDC_ISSUER: spec({ kind: k.url, group: 'SSO presets', description: 'Your Okta domain URL (issuer).' }),

  // Diagnostics
  DEBUG: spec({ kind: k.boolean, group: 'Diagnostics', description: 'Debug logging (includes where each secret was loaded from, never its value). Never in production.', default: 'false' }),
} as const;

export type VariableName = keyof typeof variables;

/** Indexed families: PHOBOS_OAUTH_PROVIDERS_<n>_<FIELD> and PHOBOS_INTERNAL_AGENTS_<n>_<FIELD>. */
export const indexedFamilies = {
  PHOBOS_OAUTH_PROVIDERS: {
    group: 'OIDC providers',
    fields: {
      ISSUER_URL: spec({ kind: k.url, group: 'OIDC providers', description: "Configured OIDC provider's issuer URL (required for each provider)." }),
      CLIENT_ID: spec({ kind: k.nonEmptyText, group: 'OIDC providers', description: 'Client ID for identity provider (required for each provider).' }),
      USERNAME_CLAIM: spec({ kind: k.nonEmptyText, group: 'OIDC providers', description: 'Supported username claim.', default: 'sub' }),
      SCOPE: spec({ kind: k.nonEmptyText, group: 'OIDC providers', description: 'OAuth scopes used by the Phobos UI.', default: 'openid profile email' }),
      CLIENT_SECRET: spec({ kind: k.nonEmptyText, group: 'OIDC providers', description: 'Client secret, for providers that require a confidential client.', secret: true, edge: true }),
    },
  },
  PHOBOS_INTERNAL_AGENTS: {
    group: 'Job execution',
    fields: {
      NAME: spec({ kind: k.nonEmptyText, group: 'Job execution', description: 'Name of the internal agent (required for each agent).' }),
      JOB_DISPATCHER_TYPE: spec({ kind: k.oneOf(['local', 'docker', 'kubernetes', 'ecs']), group: 'Job execution', description: 'Job dispatcher type: local, docker, kubernetes, or ecs (required for each agent).' }),
    },
    /** PHOBOS_INTERNAL_AGENTS_<n>_JOB_DISPATCHER_DATA_<KEY>: free-form dispatcher settings. */
    dataPrefix: 'JOB_DISPATCHER_DATA_',
  },
} as const;

/** Free-form key-value families (any suffix accepted). */
export const openPrefixes = ['PHOBOS_INTERNAL_AGENTS_'] as const;
