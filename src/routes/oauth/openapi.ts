// The built-in OpenID Provider's machine endpoints in the OpenAPI document: what automation calls
// (discovery, keys, the token endpoint with its three grants, revocation, userinfo, signing out
// everywhere). Described rather than declared with createRoute: their handlers speak OAuth's own
// error format (RFC 6749 §5.2, not problem+json) and read their forms as RFC 6749 asks (a field
// given twice is an error), which the route validators would not. The browser steps
// (/oauth/authorize, /oauth/login) are pages, listed in src/rest/undocumented-routes.ts.
import { type OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from '../../http/app-env';
import { problemResponses } from '../../rest/router';

const tags = ['OpenID Provider'];
const oauthError = z
  .object({
    error: z.string().openapi({ description: 'RFC 6749 §5.2: invalid_request, invalid_client, invalid_grant, unsupported_grant_type, invalid_token…' }),
    error_description: z.string(),
  })
  .openapi('OAuthError');
const oauthErrors = (description: string) => ({ description, content: { 'application/json': { schema: oauthError } } });
const form = (schema: z.ZodType) => ({ required: true, content: { 'application/x-www-form-urlencoded': { schema } } });
const tokens = z
  .object({
    access_token: z.string(),
    token_type: z.literal('Bearer'),
    expires_in: z.number().int(),
    id_token: z.string().optional().openapi({ description: 'User grants only.' }),
    refresh_token: z.string().optional().openapi({ description: 'User grants only; rotates on every use.' }),
    scope: z.string().optional(),
    issued_token_type: z.string().optional().openapi({ description: 'Token exchange only.' }),
  })
  .openapi('OAuthTokens');
const userinfo = z.object({ sub: z.uuid(), email: z.string(), preferred_username: z.string(), name: z.string() }).openapi('UserInfo');

export function describeOpenIdProvider(registry: OpenAPIHono<AppEnv>['openAPIRegistry']): void {
  registry.registerPath({
    method: 'get',
    path: '/.well-known/openid-configuration',
    tags,
    summary: 'OpenID Provider discovery',
    description: 'OpenID Connect Discovery 1.0: the issuer, its endpoints, grants and algorithms.',
    security: [],
    responses: { 200: { description: 'The provider metadata.', content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } } } },
  });
  registry.registerPath({
    method: 'get',
    path: '/.well-known/jwks.json',
    tags,
    summary: 'Token signing keys',
    description: 'The public keys of the active and rotated (not yet decommissioned) signing keys (RFC 7517).',
    security: [],
    responses: {
      200: {
        description: 'The key set.',
        content: { 'application/json': { schema: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }) } },
      },
    },
  });
  registry.registerPath({
    method: 'post',
    path: '/oauth/token',
    tags,
    summary: 'Issue tokens',
    description:
      "RFC 6749 §3.2 with three grants: `authorization_code` (with PKCE `code_verifier`), `refresh_token`, and token exchange (RFC 8693) of a trusted OIDC token for a service account's token (`service_account` is `<organization>/<service account>`). Each field at most once, at most 8 KiB, no control characters.",
    security: [],
    request: {
      body: form(
        z.object({
          grant_type: z.enum(['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:token-exchange']),
          client_id: z.string().optional().openapi({ description: 'The internal client (PHOBOS_OIDC_INTERNAL_IDENTITY_PROVIDER_CLIENT_ID, `phobos`).' }),
          code: z.string().optional(),
          redirect_uri: z.string().optional(),
          code_verifier: z.string().optional().openapi({ description: '43–128 characters of A–Z a–z 0–9 -._~ (RFC 7636).' }),
          refresh_token: z.string().optional(),
          subject_token: z.string().optional(),
          subject_token_type: z.string().optional(),
          service_account: z.string().optional(),
        }),
      ),
    },
    responses: {
      200: { description: 'The tokens (`Cache-Control: no-store`).', content: { 'application/json': { schema: tokens } } },
      400: oauthErrors('The request or grant is not acceptable.'),
      401: oauthErrors('Unknown client.'),
      415: oauthErrors('The body is not a form.'),
    },
  });
  registry.registerPath({
    method: 'post',
    path: '/oauth/revoke',
    tags,
    summary: 'Revoke a token',
    description: 'RFC 7009. Revoking a refresh token ends its session. Answers 200 whether or not the token was known.',
    security: [],
    request: { body: form(z.object({ token: z.string(), token_type_hint: z.string().optional() })) },
    responses: { 200: { description: 'Done (or nothing to do).' }, 400: oauthErrors('The form is malformed.'), 415: oauthErrors('The body is not a form.') },
  });
  for (const method of ['get', 'post'] as const) {
    registry.registerPath({
      method,
      path: '/oauth/userinfo',
      tags,
      summary: 'Claims of the signed-in user',
      description: 'OpenID Connect Core §5.3, for a Phobos user access token (not an API key, not a service account).',
      security: [{ bearer: [] }],
      responses: {
        200: { description: 'The claims.', content: { 'application/json': { schema: userinfo } } },
        401: oauthErrors('Not a Phobos user access token.'),
      },
    });
  }
  registry.registerPath({
    method: 'post',
    path: '/oauth/sessions/revoke-all',
    tags,
    summary: 'Sign out everywhere',
    description: 'Revokes every sign-in session of the calling user (not allowed to a credential narrowed to one organization).',
    responses: {
      200: { description: 'How many sessions were revoked.', content: { 'application/json': { schema: z.object({ revokedSessions: z.number().int() }) } } },
      ...problemResponses(401, 403),
    },
  });
}
