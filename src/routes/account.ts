// The caller's own identity and API keys over REST, for automation and the CLI. (GraphQL exposes
// the same services.) Thin: parse, call the service, answer. Each route is declared once with
// createRoute, so the OpenAPI document (/api/docs) and the validation cannot drift apart; every one
// starts with requireCredentials, so anonymous callers learn nothing about a body's shape.
import { createRoute, z } from '@hono/zod-openapi';
import { requireAuthenticated } from '../auth/rbac';
import { type ApiKeyView, createApiKey, listOwnApiKeys, revokeApiKey } from '../domain/api-keys/service';
import { text } from '../domain/text';
import { problemResponses, requireCredentials, restRouter } from '../rest/router';

export const accountRoutes = restRouter();

const timestamp = z.iso.datetime({ offset: true });

const principalSchema = z
  .discriminatedUnion('kind', [
    z.object({
      kind: z.literal('user'),
      userId: z.uuid(),
      username: z.string(),
      email: z.string(),
      isAdmin: z.boolean(),
      via: z.enum(['access_token', 'external_token', 'api_key']),
      sessionId: z.string().optional(),
      apiKeyId: z.uuid().optional(),
      organizationScope: z
        .uuid()
        .optional()
        .openapi({ description: 'Set when the credential is narrowed to one organization (a scoped API key, a token with a tenant claim).' }),
      apiKeyExpiresAt: timestamp.optional(),
    }),
    z.object({
      kind: z.literal('service_account'),
      serviceAccountId: z.uuid(),
      organizationId: z.uuid(),
      name: z.string(),
      via: z.enum(['access_token', 'api_key']),
      apiKeyId: z.uuid().optional(),
      organizationScope: z.uuid().optional(),
      apiKeyExpiresAt: timestamp.optional(),
    }),
  ])
  .openapi('Principal');

const apiKeySchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    prefix: z.string().openapi({ description: 'The public part of the key (`phb_<prefix>_…`), to tell keys apart.' }),
    userId: z.uuid().nullable(),
    serviceAccountId: z.uuid().nullable(),
    organizationId: z.uuid().nullable().openapi({ description: 'When set, the key acts only within this organization.' }),
    createdBy: z.uuid().nullable(),
    createdAt: timestamp,
    expiresAt: timestamp.nullable(),
    lastUsedAt: timestamp.nullable(),
    revokedAt: timestamp.nullable(),
  })
  .openapi('ApiKey');

const iso = (date: Date | null) => (date ? date.toISOString() : null);

function apiKeyJson(key: ApiKeyView): z.infer<typeof apiKeySchema> {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    userId: key.userId,
    serviceAccountId: key.serviceAccountId,
    organizationId: key.organizationId,
    createdBy: key.createdBy,
    createdAt: key.createdAt.toISOString(),
    expiresAt: iso(key.expiresAt),
    lastUsedAt: iso(key.lastUsedAt),
    revokedAt: iso(key.revokedAt),
  };
}

const whoami = createRoute({
  method: 'get',
  path: '/auth/whoami',
  tags: ['Identity'],
  summary: 'The caller as the API sees it',
  description: 'The user or service account the credential stands for, and how it authenticated.',
  responses: {
    200: { description: 'The caller.', content: { 'application/json': { schema: principalSchema } } },
    ...problemResponses(401),
  },
});

accountRoutes.openapi(whoami, (c) => {
  const principal = requireAuthenticated(c.get('principal'));
  return c.json({ ...principal, apiKeyExpiresAt: principal.apiKeyExpiresAt?.toISOString() }, 200);
});

const createKey = createRoute({
  method: 'post',
  path: '/auth/api-keys',
  tags: ['Identity'],
  summary: 'Create an API key',
  description:
    'For the caller, or for a service account (`api_key:manage` in its organization). The secret is shown once, in this answer. A caller narrowed to one organization always narrows its keys to it.',
  middleware: [requireCredentials] as const,
  request: {
    body: {
      content: {
        'application/json': {
          schema: z.object({
            name: text(),
            serviceAccountId: z.uuid().optional().openapi({ description: 'Create the key for this service account instead of the caller.' }),
            organizationId: z.uuid().optional().openapi({ description: 'Narrow the key to this organization.' }),
            expiresAt: timestamp.optional(),
          }),
        },
      },
    },
  },
  responses: {
    201: {
      description: 'The key, and its secret (send it as `X-API-Key`).',
      headers: { 'cache-control': { schema: { type: 'string', example: 'no-store' } } },
      content: { 'application/json': { schema: z.object({ apiKey: apiKeySchema, secret: z.string() }) } },
    },
    ...problemResponses(400, 401, 403, 404, 415, 422),
  },
});

accountRoutes.openapi(createKey, async (c) => {
  const { expiresAt, ...input } = c.req.valid('json');
  const created = await createApiKey(c.get('database')().http, await c.get('caller')(), {
    ...input,
    expiresAt: expiresAt ? new Date(expiresAt) : undefined,
  });
  c.header('cache-control', 'no-store');
  return c.json({ apiKey: apiKeyJson(created.key), secret: created.secret }, 201);
});

const listKeys = createRoute({
  method: 'get',
  path: '/auth/api-keys',
  tags: ['Identity'],
  summary: "The caller's own API keys",
  description: 'Secrets are never shown again; a key narrowed to one organization lists only keys narrowed to the same one.',
  responses: {
    200: { description: 'The keys.', content: { 'application/json': { schema: z.object({ apiKeys: z.array(apiKeySchema) }) } } },
    ...problemResponses(401, 403),
  },
});

accountRoutes.openapi(listKeys, async (c) => {
  const keys = await listOwnApiKeys(c.get('database')().http, await c.get('caller')());
  return c.json({ apiKeys: keys.map(apiKeyJson) }, 200);
});

const revokeKey = createRoute({
  method: 'delete',
  path: '/auth/api-keys/{id}',
  tags: ['Identity'],
  summary: 'Revoke an API key',
  description: "The caller's own key, or a service account's (`api_key:manage` in its organization).",
  middleware: [requireCredentials] as const,
  request: { params: z.object({ id: z.uuid({ error: 'must be a UUID' }) }) },
  responses: {
    200: { description: 'The revoked key.', content: { 'application/json': { schema: z.object({ apiKey: apiKeySchema }) } } },
    ...problemResponses(400, 401, 403, 404),
  },
});

accountRoutes.openapi(revokeKey, async (c) => {
  const key = await revokeApiKey(c.get('database')().http, await c.get('caller')(), c.req.valid('param').id);
  return c.json({ apiKey: apiKeyJson(key) }, 200);
});
