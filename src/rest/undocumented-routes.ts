// The routes of the Worker the OpenAPI document does not describe, and why: each has a description
// of its own that a client already uses, or is not an API a client calls. Everything else is
// described (test/node/openapi-document.test.ts fails on a route that is neither described nor
// listed here). Paths are Hono's (`:name`, `*`); the reference page lists them too.
export const undocumentedRoutes: readonly { routes: string; pattern: RegExp; reason: string }[] = [
  {
    routes: 'middleware (`*`)',
    pattern: /^ALL \S*\*$/,
    reason: 'Middleware (authentication, the /api/v1 credential check, rate limiting): applies to routes, is not one.',
  },
  {
    routes: '/agent/v1/*',
    pattern: /^\S+ \/agent\/v1\//,
    reason: 'The agent protocol: spoken by the Phobos agent only, versioned with it and typed in src/protocol/agent-v1.ts.',
  },
  {
    routes: '/oauth/authorize, /oauth/login',
    pattern: /^(GET \/oauth\/authorize|POST \/oauth\/login)$/,
    reason:
      "The built-in OpenID Provider's browser steps: the sign-in page and its form, which OIDC clients reach by redirect (RFC 6749 §4.1, discovery's authorization_endpoint), never call as an API.",
  },
  { routes: '/oauth/set-password', pattern: /^\S+ \/oauth\/set-password$/, reason: 'An HTML page for a browser (a one-time set-password link), not an API.' },
  {
    routes: '/auth/login/{provider}, /auth/callback/{provider}, /auth/callback, /auth/vcs/callback',
    pattern: /^GET \/auth\/(login\/:provider|callback\/:provider|callback|vcs\/callback)$/,
    reason: 'Browser redirects of sign-in and VCS connection flows, not APIs.',
  },
  {
    routes: '/webhooks/approvals',
    pattern: /^(GET|POST) \/webhooks\/approvals$/,
    reason: "An approval link's confirmation page and its form, opened from a chat message in a browser; the link's signature is the credential.",
  },
  {
    routes: '/graphql, /graphql/schema, /graphql-playground',
    pattern: /^\S+ \/graphql(\/schema|-playground)?$/,
    reason: 'GraphQL: described by its own schema (GET /graphql/schema) and introspection.',
  },
];

/** Why the route (`METHOD /path` as Hono registers it) is not in the document, if it is listed. */
export function whyUndocumented(route: string): string | undefined {
  return undocumentedRoutes.find((entry) => entry.pattern.test(route))?.reason;
}
