// The caller's own identity and API keys over REST, for automation and the CLI. (GraphQL exposes
// the same services.) Thin: parse, call the service, answer.
import { Hono } from 'hono';
import { z } from 'zod';
import { createApiKey, listOwnApiKeys, revokeApiKey } from '../domain/api-keys/service';
import { text } from '../domain/text';
import { badInput } from '../errors';
import type { AppEnv } from '../http/app-env';
import { requireAuthenticated } from '../auth/rbac';

export const accountRoutes = new Hono<AppEnv>();

accountRoutes.get('/auth/whoami', (c) => {
  const principal = requireAuthenticated(c.get('principal'));
  return c.json(principal);
});

const createKeyBody = z.object({
  name: text(),
  serviceAccountId: z.uuid().optional(),
  organizationId: z.uuid().optional(),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});

accountRoutes.post('/auth/api-keys', async (c) => {
  // Anonymous callers learn nothing about the body's shape: 401 before validation.
  requireAuthenticated(c.get('principal'));
  const parsed = createKeyBody.safeParse(await c.req.json().catch(() => undefined));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw badInput(issue?.path.join('.') || 'body', issue?.message ?? 'must be a JSON object');
  }
  const { expiresAt, ...input } = parsed.data;
  const created = await createApiKey(c.get('database')().http, await c.get('caller')(), {
    ...input,
    expiresAt: expiresAt ? new Date(expiresAt) : undefined,
  });
  c.header('cache-control', 'no-store');
  return c.json({ apiKey: created.key, secret: created.secret }, 201);
});

accountRoutes.get('/auth/api-keys', async (c) => {
  return c.json({ apiKeys: await listOwnApiKeys(c.get('database')().http, await c.get('caller')()) });
});

accountRoutes.delete('/auth/api-keys/:id', async (c) => {
  const id = c.req.param('id');
  if (!z.uuid().safeParse(id).success) throw badInput('id', 'must be a UUID');
  return c.json({ apiKey: await revokeApiKey(c.get('database')().http, await c.get('caller')(), id) });
});
