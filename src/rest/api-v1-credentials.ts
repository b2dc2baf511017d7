// Every /api/v1 request needs credentials: an anonymous caller is refused with 401 problem+json
// before routing, so an unknown path or method under /api/v1 tells it nothing either (no 404 or 405
// that would map the API for someone without a credential). Mounted in src/app.ts after
// authenticate(), which has already refused credentials that are present but invalid.
import type { MiddlewareHandler } from 'hono';
import { isAuthenticated } from '../auth/principal';
import { AppError } from '../errors';
import type { AppEnv } from '../http/app-env';

export const requireApiV1Credentials: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!isAuthenticated(c.get('principal'))) {
    throw new AppError('UNAUTHENTICATED', 'Authentication required: send Authorization: Bearer <token> or X-API-Key', {
      headers: { 'www-authenticate': 'Bearer, ApiKey' },
    });
  }
  await next();
};
