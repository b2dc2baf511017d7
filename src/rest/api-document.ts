// The OpenAPI 3.1 document of the Worker's REST API, generated from the route definitions
// (createRoute in src/routes/ and src/rest/), so what it says and what the routes validate are one
// source. Generated once per app (a few milliseconds of zod-to-JSON-Schema work), then served as is.
//
// What it leaves out, and why, is the list in ./undocumented-routes.ts; a test fails when a route
// is neither described nor listed there.
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../http/app-env';

export type ApiDocument = ReturnType<OpenAPIHono<AppEnv>['getOpenAPI31Document']>;

const tags = [
  { name: 'Identity', description: 'The caller itself and its API keys.' },
  { name: 'OpenID Provider', description: 'The built-in OpenID Provider: discovery, keys, tokens, revocation, userinfo (OAuth 2.0 and OpenID Connect).' },
  { name: 'Infrastructure', description: 'The Proxmox VE cluster: nodes and storage (REST railing).' },
  { name: 'VMs and containers', description: 'QEMU VMs and LXC containers, and their start, stop and reboot (REST railing).' },
  { name: 'Health', description: 'Cluster health from Prometheus and Alertmanager (REST railing).' },
  { name: 'Tenants', description: "The caller's tenants (organizations): their resources and health (REST railing)." },
  { name: 'Releases', description: 'Release assets.' },
  { name: 'Jobs', description: 'Job logs, live.' },
  { name: 'Objects', description: 'Objects of the store behind Worker-signed URLs.' },
  { name: 'Operations', description: 'Liveness and readiness.' },
  { name: 'Documentation', description: 'This document and its reference page.' },
];

const description = `The REST API of Phobos Edge. GraphQL (\`/graphql\`, schema at \`/graphql/schema\`) covers the rest of the domain.

Authenticate with \`Authorization: Bearer <token>\` (a Phobos access token, a service account's token, or a token of a configured OIDC provider) or with \`X-API-Key\`, never both. Every error is RFC 9457 \`application/problem+json\` with a stable \`code\`.

\`/api/v1\` is frozen once released: it only grows (new routes, new optional parameters, new response fields). A route being retired answers with \`Deprecation\` (RFC 9745) and \`Sunset\` (RFC 8594) headers before it goes; breaking changes come as \`/api/v2\`.`;

const documents = new WeakMap<object, ApiDocument>();

/** The app's OpenAPI document (memoised per app). */
export function apiDocumentOf(app: OpenAPIHono<AppEnv>): ApiDocument {
  let document = documents.get(app);
  if (!document) {
    app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description:
        "A Phobos access token (sign-in through /oauth, or a service account's token exchange), or a token of a configured OIDC provider (PHOBOS_OAUTH_PROVIDERS_<n>). A provider's token carrying a tenant claim (PHOBOS_OAUTH_PROVIDERS_<n>_TENANT_CLAIM, default `tenant`) acts in that organization only.",
    });
    app.openAPIRegistry.registerComponent('securitySchemes', 'apiKey', {
      type: 'apiKey',
      in: 'header',
      name: 'X-API-Key',
      description: 'An API key (POST /auth/api-keys); a key narrowed to one organization acts in that organization only.',
    });
    document = app.getOpenAPI31Document({
      openapi: '3.1.0',
      info: { title: 'Phobos Edge API', version: '1', description },
      security: [{ bearer: [] }, { apiKey: [] }],
      tags,
    });
    documents.set(app, document);
  }
  return document;
}
