// Every REST router is an OpenAPIHono: a route is declared once with createRoute (path,
// parameters and responses as zod schemas), which both validates the request and describes it in
// the OpenAPI document served at /api/docs/openapi.json. Invalid input answers 400 problem+json
// naming the parameter, like every other transport.
import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { requireAuthenticated } from '../auth/rbac';
import { badInput } from '../errors';
import type { AppEnv } from '../http/app-env';

/** A router for REST routes (src/routes/, src/rest/); mount it in src/app.ts. */
export function restRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (result.success) return;
      const issue = result.error.issues[0];
      throw badInput(issue?.path.join('.') || 'request', issue?.message ?? 'is invalid');
    },
  });
}

/** A router for railing routes (a REST router by another name); mount it in src/rest/railing.ts. */
export function railingRouter(): OpenAPIHono<AppEnv> {
  return restRouter();
}

/**
 * A route's first middleware (createRoute's `middleware`) where anonymous callers must learn nothing
 * about its parameters or body: 401 before validation.
 */
export const requireCredentials: MiddlewareHandler<AppEnv> = async (c, next) => {
  requireAuthenticated(c.get('principal'));
  await next();
};

/** RFC 9457 problem details (src/http/problem.ts), the body of every error answer. */
const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().openapi({ description: 'The stable error code (README, "Errors").' }),
    requestId: z.string(),
    instance: z.string().optional(),
    field: z.string().optional().openapi({ description: 'The input at fault, for 400.' }),
  })
  .openapi('Problem');

const problemStatuses = {
  400: 'A parameter is missing or malformed; `field` names it.',
  401: 'No valid credentials: send `Authorization: Bearer <token>` or `X-API-Key`.',
  403: 'Authenticated, but not allowed.',
  404: 'No such resource, or not one the caller may see.',
  409: 'The resource exists already, or changed meanwhile.',
  413: "The body exceeds the route's limit.",
  415: "The body's content type is not accepted.",
  422: 'Creating it would exceed a resource limit.',
  429: 'Too many requests; see `Retry-After`.',
  502: 'The upstream failed or answered nonsense.',
  503: 'The upstream is not configured.',
  504: 'The upstream did not answer in time.',
} as const;

/** The problem+json answers of a route, by status, for its `responses`. */
export function problemResponses<const S extends keyof typeof problemStatuses>(...statuses: S[]) {
  return Object.fromEntries(
    statuses.map((status) => [status, { description: problemStatuses[status], content: { 'application/problem+json': { schema: problemSchema } } }]),
  ) as unknown as Record<S, { description: string; content: { 'application/problem+json': { schema: typeof problemSchema } } }>;
}
