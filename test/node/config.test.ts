import { describe, expect, expectTypeOf, it } from 'vitest';
import { signInProviderLinks, ssoProviders } from '../../src/auth/sso/providers';
import { ConfigError, loadConfig, type Environment, type PhobosConfig } from '../../src/config/load';
import type { RequestRate } from '../../src/config/kinds';

function issuesOf(env: Environment): { variable: string; message: string }[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig defaults', () => {
  const config = loadConfig({});

  it('applies the documented Phobos defaults', () => {
    expect(config.server.apiUrl).toBe('http://localhost:9000');
    expect(config.server.uiUrl).toBe('http://localhost:9000');
    expect(config.server.httpPort).toBe(9000);
    expect(config.server.httpRateLimit).toEqual({ limit: 60, windowSeconds: 1 });
    expect(config.server.maxGraphqlComplexity).toBe(0);
    expect(config.server.asyncTaskTimeoutSeconds).toBe(100);
    expect(config.server.templateMaxUploadSize).toBe(131072);
    expect(config.server.pluginBinaryMaxUploadSize).toBe(1073741824);
    expect(config.releases.dueDateWarningHours).toBe(24);
    expect(config.server.corsAllowedOrigins).toEqual(['http://localhost:9000']);
    expect(config.userSessions).toEqual({ accessTokenExpirationMinutes: 5, refreshTokenExpirationMinutes: 720, maxSessionsPerUser: 20 });
    expect(config.signingKeys).toEqual({ rotationPeriodDays: 0, decommissionPeriodDays: 7 });
    expect(config.internalIdentityProviderClientId).toBe('phobos');
    expect(config.tokenIssuerUrl).toBe('http://localhost:9000');
    expect(config.database.autoMigrateEnabled).toBe(true);
    expect(config.database.port).toBe(5432);
    expect(config.jwsProvider.type).toBe('memory');
    expect(config.rateLimitStore.type).toBe('memory');
    expect(config.email.type).toBe('empty');
    expect(config.otel.enabled).toBe(false);
    expect(config.oauthProviders).toEqual([]);
    expect(config.internalAgents).toEqual([]);
    expect(config.notApplicable).toEqual([]);
  });

  it('has the type inferred from the declarations: a default makes a value present, no default leaves it optional', () => {
    expectTypeOf(config.database.port).toEqualTypeOf<number>();
    expectTypeOf(config.database.host).toEqualTypeOf<string | undefined>();
    expectTypeOf(config.database.sslMode).toEqualTypeOf<'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full'>();
    expectTypeOf(config.server.uiUrl).toEqualTypeOf<string>();
    expectTypeOf(config.server.httpRateLimit).toEqualTypeOf<RequestRate>();
    expectTypeOf(config.jwsProvider.tags).toEqualTypeOf<Record<string, string>>();
    expectTypeOf<PhobosConfig['oauthProviders'][number]['clientId']>().toEqualTypeOf<string>();
    expectTypeOf<PhobosConfig['oauthProviders'][number]['clientSecret']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<PhobosConfig['internalAgents'][number]['jobDispatcherData']>().toEqualTypeOf<Record<string, string>>();
    expectTypeOf<PhobosConfig['server']>().not.toHaveProperty('grpcPort');
    // Variables that mean nothing on Workers are validated but kept out of the parsed configuration.
    expect(loadConfig({ PHOBOS_GRPC_SERVER_PORT: '9010' }).server).not.toHaveProperty('grpcPort');
    expect(config.jwsProvider.tags).toEqual({});
    expect(config.sso).toEqual({ enabledProviders: [], emailDomainWhitelist: [], loginBannerText: undefined, presets: [] });
    expect(config.email.smtpPort).toBe(587);
    expect(config.database.sslMode).toBe('prefer');
  });

  it('derives the UI URL, token issuer and CORS origins from the URLs set', () => {
    const derived = loadConfig({ PHOBOS_API_URL: 'https://api.example.com/', PHOBOS_UI_URL: 'https://ui.example.com' });
    expect(derived.server.apiUrl).toBe('https://api.example.com');
    expect(derived.tokenIssuerUrl).toBe('https://api.example.com');
    expect(derived.server.corsAllowedOrigins).toEqual(['https://ui.example.com']);
  });
});

describe('loadConfig values', () => {
  it('reads the per-period rate form by the first letter of the period', () => {
    expect(loadConfig({ PHOBOS_HTTP_RATE_LIMIT: '100/minute' }).server.httpRateLimit).toEqual({ limit: 100, windowSeconds: 60 });
    expect(loadConfig({ PHOBOS_HTTP_RATE_LIMIT: '5/s' }).server.httpRateLimit).toEqual({ limit: 5, windowSeconds: 1 });
    expect(loadConfig({ PHOBOS_HTTP_RATE_LIMIT: '1000/hr' }).server.httpRateLimit).toEqual({ limit: 1000, windowSeconds: 3600 });
    expect(loadConfig({ PHOBOS_HTTP_RATE_LIMIT: '9 / day' }).server.httpRateLimit).toEqual({ limit: 9, windowSeconds: 86400 });
    expect(loadConfig({ PHOBOS_HTTP_RATE_LIMIT: '0' }).server.httpRateLimit).toEqual({ limit: 0, windowSeconds: 1 });
  });

  it('collects indexed OIDC providers with their username and tenant claim defaults', () => {
    const config = loadConfig({
      PHOBOS_OAUTH_PROVIDERS_0_ISSUER_URL: 'https://idp.example.com',
      PHOBOS_OAUTH_PROVIDERS_0_CLIENT_ID: 'phobos-ui',
      PHOBOS_OAUTH_PROVIDERS_2_ISSUER_URL: 'https://other.example.com/',
      PHOBOS_OAUTH_PROVIDERS_2_CLIENT_ID: 'x',
      PHOBOS_OAUTH_PROVIDERS_2_USERNAME_CLAIM: 'email',
      PHOBOS_OAUTH_PROVIDERS_2_SCOPE: 'openid email',
      PHOBOS_OAUTH_PROVIDERS_2_TENANT_CLAIM: 'organization',
    });
    expect(config.oauthProviders).toEqual([
      {
        index: 0,
        issuerUrl: 'https://idp.example.com',
        clientId: 'phobos-ui',
        clientSecret: undefined,
        usernameClaim: 'sub',
        tenantClaim: 'tenant',
        scope: 'openid profile email',
      },
      {
        index: 2,
        issuerUrl: 'https://other.example.com',
        clientId: 'x',
        clientSecret: undefined,
        usernameClaim: 'email',
        tenantClaim: 'organization',
        scope: 'openid email',
      },
    ]);
  });

  it('collects internal agents with free-form dispatcher data', () => {
    const config = loadConfig({
      PHOBOS_INTERNAL_AGENTS_0_NAME: 'local-runner',
      PHOBOS_INTERNAL_AGENTS_0_JOB_DISPATCHER_TYPE: 'docker',
      PHOBOS_INTERNAL_AGENTS_0_JOB_DISPATCHER_DATA_IMAGE: 'phobos/job-executor:latest',
      PHOBOS_INTERNAL_AGENTS_0_JOB_DISPATCHER_DATA_HOST: 'unix:///var/run/docker.sock',
    });
    expect(config.internalAgents).toEqual([
      {
        index: 0,
        name: 'local-runner',
        jobDispatcherType: 'docker',
        jobDispatcherData: { IMAGE: 'phobos/job-executor:latest', HOST: 'unix:///var/run/docker.sock' },
      },
    ]);
  });

  it('reads the release due-date warning window in hours', () => {
    expect(loadConfig({ PHOBOS_RELEASE_DUE_DATE_WARNING_HOURS: '72' }).releases.dueDateWarningHours).toBe(72);
  });

  it('parses JWS tags and booleans in their usual spellings', () => {
    const config = loadConfig({ PHOBOS_JWS_PROVIDER_PLUGIN_DATA_TAGS: 'team=platform, env=prod', PHOBOS_DB_AUTO_MIGRATE_ENABLED: 'FALSE', DEBUG: 'True' });
    expect(config.jwsProvider.tags).toEqual({ team: 'platform', env: 'prod' });
    expect(config.database.autoMigrateEnabled).toBe(false);
    expect(config.debug).toBe(true);
  });

  it('accepts gRPC and TLS variables and reports each once as not applicable', () => {
    const config = loadConfig({ PHOBOS_GRPC_SERVER_PORT: '9010', PHOBOS_TLS_ENABLED: 'true', PHOBOS_TLS_CERT_FILE: '/etc/tls/cert.pem' });
    expect(config.notApplicable.map((issue) => issue.variable)).toEqual(['PHOBOS_GRPC_SERVER_PORT', 'PHOBOS_TLS_ENABLED', 'PHOBOS_TLS_CERT_FILE']);
  });
});

describe('loadConfig rejects bad values, naming the variable and what it expected', () => {
  it.each([
    ['PHOBOS_HTTP_RATE_LIMIT', 'abc', 'a number of requests per second'],
    ['PHOBOS_HTTP_RATE_LIMIT', '10/fortnight', 'period s, m, h or d'],
    ['PHOBOS_HTTP_RATE_LIMIT', '-5', 'a number of requests per second'],
    ['PHOBOS_HTTP_SERVER_PORT', '70000', 'an integer between 1 and 65535'],
    ['PHOBOS_DB_PORT', '54x', 'an integer between 1 and 65535'],
    ['PHOBOS_USER_SESSION_MAX_SESSIONS_PER_USER', '0', 'an integer >= 1'],
    ['PHOBOS_MAX_GRAPHQL_COMPLEXITY', '-1', 'an integer >= 0'],
    ['PHOBOS_RELEASE_DUE_DATE_WARNING_HOURS', '0', 'an integer >= 1'],
    ['PHOBOS_RELEASE_DUE_DATE_WARNING_HOURS', '1.5', 'an integer >= 1'],
    ['PHOBOS_DB_AUTO_MIGRATE_ENABLED', 'maybe', 'true or false'],
    ['PHOBOS_API_URL', 'localhost:9000', 'an absolute http(s) URL'],
    ['PHOBOS_JWS_PROVIDER_PLUGIN_TYPE', 'vault', 'one of memory, awskms'],
    ['PHOBOS_RATE_LIMIT_STORE_PLUGIN_TYPE', 'memcached', 'one of memory, redis'],
    ['PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE', 'sendgrid', 'one of smtp, ses, plunk, empty'],
    ['PHOBOS_ADMIN_USER_EMAIL', 'not-an-email', 'an email address'],
    ['PHOBOS_CORS_ALLOWED_ORIGINS', 'https://ok.example.com,not a url', 'a comma-separated list of http(s) origins'],
    ['PHOBOS_JWS_PROVIDER_PLUGIN_DATA_TAGS', 'novalue', 'comma-separated key=value pairs'],
    ['LOGIN_BANNER_TEXT', 'x'.repeat(513), 'at most 512 characters'],
  ])('%s=%s', (variable, value, expected) => {
    const issues = issuesOf({ [variable]: value });
    expect(issues).toHaveLength(1);
    expect(issues[0]!.variable).toBe(variable);
    expect(issues[0]!.message).toMatch(/^expected /);
    expect(issues[0]!.message).toContain(expected);
  });

  it('reports every bad variable at once', () => {
    const issues = issuesOf({ PHOBOS_HTTP_RATE_LIMIT: 'abc', PHOBOS_HTTP_SERVER_PORT: 'x' });
    expect(issues.map((issue) => issue.variable).sort()).toEqual(['PHOBOS_HTTP_RATE_LIMIT', 'PHOBOS_HTTP_SERVER_PORT']);
    expect(new ConfigError(issues).message).toMatch(/PHOBOS_HTTP_RATE_LIMIT: expected .* got "abc"/);
  });

  it('never echoes a secret value in the error', () => {
    const issues = issuesOf({ PHOBOS_ADMIN_USER_PASSWORD: '   ' });
    expect(issues[0]!.variable).toBe('PHOBOS_ADMIN_USER_PASSWORD');
    expect(issues[0]!.message).toContain('(hidden)');
  });

  it('requires the settings a chosen plugin depends on', () => {
    expect(issuesOf({ PHOBOS_JWS_PROVIDER_PLUGIN_TYPE: 'awskms' })).toEqual([
      { variable: 'PHOBOS_JWS_PROVIDER_PLUGIN_DATA_REGION', message: 'is required when PHOBOS_JWS_PROVIDER_PLUGIN_TYPE is awskms' },
    ]);
    expect(issuesOf({ PHOBOS_RATE_LIMIT_STORE_PLUGIN_TYPE: 'redis' })[0]!.variable).toBe('PHOBOS_RATE_LIMIT_STORE_PLUGIN_DATA_REDIS_ENDPOINT');
    // SES needs its region and, on Workers (no instance role), a key pair.
    expect(issuesOf({ PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE: 'ses' })).toEqual(
      ['FROM_ADDRESS', 'REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'].map((name) => ({
        variable: `PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_${name}`,
        message: 'is required when PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE is ses',
      })),
    );
    expect(issuesOf({ PHOBOS_OTEL_TRACE_ENABLED: 'yes' })).toEqual([
      { variable: 'PHOBOS_OTEL_TRACE_HOST', message: 'is required when PHOBOS_OTEL_TRACE_ENABLED is true' },
    ]);
    expect(loadConfig({ PHOBOS_OTEL_TRACE_ENABLED: 'yes', PHOBOS_OTEL_TRACE_HOST: 'collector' }).otel).toEqual({
      enabled: true,
      type: 'otlp',
      host: 'collector',
      port: 4318,
    });
    expect(issuesOf({ PHOBOS_OAUTH_PROVIDERS_0_CLIENT_ID: 'x' })[0]!.variable).toBe('PHOBOS_OAUTH_PROVIDERS_0_ISSUER_URL');
    expect(issuesOf({ PHOBOS_INTERNAL_AGENTS_1_NAME: 'a' })[0]!.variable).toBe('PHOBOS_INTERNAL_AGENTS_1_JOB_DISPATCHER_TYPE');
    expect(issuesOf({ PHOBOS_INTERNAL_AGENTS_1_NAME: 'a', PHOBOS_INTERNAL_AGENTS_1_JOB_DISPATCHER_TYPE: 'lambda' })[0]!.variable).toBe(
      'PHOBOS_INTERNAL_AGENTS_1_JOB_DISPATCHER_TYPE',
    );
  });
});

describe('SSO presets', () => {
  it('enables presets listed in SSO_PROVIDERS when their variables are set', () => {
    const config = loadConfig({
      SSO_PROVIDERS: 'github, okta-oidc',
      GITHUB_CLIENT_ID: 'a',
      GITHUB_CLIENT_SECRET: 'b',
      OKTA_OIDC_CLIENT_ID: 'c',
      OKTA_OIDC_CLIENT_SECRET: 'd',
      OKTA_OIDC_ISSUER: 'https://acme.okta.com',
    });
    expect(config.sso.enabledProviders).toEqual(['github', 'okta-oidc']);
    expect(config.sso.presets).toEqual([
      { slug: 'github', name: 'GitHub', clientId: 'a', clientSecret: 'b' },
      { slug: 'okta-oidc', name: 'Okta', clientId: 'c', clientSecret: 'd', issuer: 'https://acme.okta.com' },
    ]);
  });

  it('names the missing variables of an enabled preset and rejects unknown slugs', () => {
    expect(issuesOf({ SSO_PROVIDERS: 'gitlab', GITLAB_CLIENT_ID: 'x' })).toEqual([
      { variable: 'GITLAB_CLIENT_SECRET', message: 'is required when SSO_PROVIDERS includes gitlab' },
    ]);
    expect(issuesOf({ SSO_PROVIDERS: 'myspace' })[0]).toMatchObject({
      variable: 'SSO_PROVIDERS',
      message: expect.stringContaining('unknown provider "myspace"'),
    });
  });

  it('validates an enabled preset into its typed object, naming each bad or missing variable', () => {
    expect(issuesOf({ SSO_PROVIDERS: 'okta-oidc', OKTA_OIDC_CLIENT_ID: 'c', OKTA_OIDC_CLIENT_SECRET: 'd', OKTA_OIDC_ISSUER: 'acme.okta.com' })).toEqual([
      { variable: 'OKTA_OIDC_ISSUER', message: 'expected an absolute http(s) URL, got "acme.okta.com"' },
    ]);
    expect(issuesOf({ SSO_PROVIDERS: 'entra-id-oidc' }).map((issue) => issue.variable)).toEqual([
      'ENTRA_ID_OIDC_TENANT_ID',
      'ENTRA_ID_OIDC_CLIENT_ID',
      'ENTRA_ID_OIDC_CLIENT_SECRET',
    ]);
    const hidden = issuesOf({ SSO_PROVIDERS: 'github', GITHUB_CLIENT_ID: 'a', GITHUB_CLIENT_SECRET: '  ' });
    expect(hidden).toEqual([{ variable: 'GITHUB_CLIENT_SECRET', message: 'expected a non-empty string, got (hidden)' }]);
  });

  it('checks a set preset variable even when its preset is not enabled', () => {
    expect(issuesOf({ AUTHELIA_URL: 'ftp://auth.example.com' })).toEqual([
      { variable: 'AUTHELIA_URL', message: 'expected an absolute http(s) URL, got "ftp://auth.example.com"' },
    ]);
  });

  it('reports preset, plugin and value problems together', () => {
    const issues = issuesOf({ SSO_PROVIDERS: 'gitlab', PHOBOS_JWS_PROVIDER_PLUGIN_TYPE: 'awskms', PHOBOS_DB_PORT: 'x' });
    expect(issues.map((issue) => issue.variable).sort()).toEqual([
      'GITLAB_CLIENT_ID',
      'GITLAB_CLIENT_SECRET',
      'PHOBOS_DB_PORT',
      'PHOBOS_JWS_PROVIDER_PLUGIN_DATA_REGION',
    ]);
  });

  it('applies preset defaults and builds each provider from its typed preset', () => {
    const config = loadConfig({
      SSO_PROVIDERS: 'gitlab,entra-id-oidc,gitlab',
      GITLAB_CLIENT_ID: 'gl',
      GITLAB_CLIENT_SECRET: 'gl-secret',
      ENTRA_ID_OIDC_TENANT_ID: 'tenant-1',
      ENTRA_ID_OIDC_CLIENT_ID: 'entra',
      ENTRA_ID_OIDC_CLIENT_SECRET: 'entra-secret',
    });
    expect(config.sso.presets).toEqual([
      { slug: 'gitlab', name: 'GitLab', clientId: 'gl', clientSecret: 'gl-secret', authUrl: 'https://gitlab.com' },
      { slug: 'entra-id-oidc', name: 'Microsoft Entra ID', tenantId: 'tenant-1', clientId: 'entra', clientSecret: 'entra-secret' },
    ]);
    expect(ssoProviders(config).map((provider) => [provider.slug, provider.issuer, provider.clientId])).toEqual([
      ['gitlab', 'https://gitlab.com', 'gl'],
      ['entra-id-oidc', 'https://login.microsoftonline.com/tenant-1/v2.0', 'entra'],
    ]);
    expect(signInProviderLinks(config).map((link) => link.href)).toEqual(['/auth/login/gitlab', '/auth/login/entra-id-oidc']);
  });

  it('lower-cases the email domain whitelist', () => {
    expect(loadConfig({ USER_EMAIL_DOMAIN_WHITELIST: 'Example.com, sub.example.com' }).sso.emailDomainWhitelist).toEqual(['example.com', 'sub.example.com']);
  });
});
