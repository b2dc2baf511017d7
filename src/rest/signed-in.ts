// Route middleware of the railing's routes: anonymous callers are refused (401) before their
// parameters are validated, so they learn nothing of a route's input, and a malformed request from
// them is 401 like any other. (createRoute's `middleware` runs before its validators.)
import type { MiddlewareHandler } from 'hono';
import { requireAuthenticated } from '../auth/rbac';
import type { AppEnv } from '../http/app-env';

export const signedIn: MiddlewareHandler<AppEnv> = async (c, next) => {
  requireAuthenticated(c.get('principal'));
  await next();
};
