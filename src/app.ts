// Builds the Hono application from its route modules. Transports stay thin: middleware decides
// request-wide concerns once, routes call domain services.
import { Hono } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import type { AppEnv } from './http/app-env';
import { handleError, handleNotFound } from './http/error-handler';
import { requestContext } from './http/request-context';
import { healthRoutes } from './routes/health';
import { authenticate } from './http/authenticate';
import { idpRoutes } from './auth/idp/routes';
import { ssoRoutes } from './auth/sso/routes';
import { accountRoutes } from './auth/account-routes';

export function createApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use('*', requestContext());
  app.use('*', secureHeaders());
  app.route('/', healthRoutes);
  // Everything below knows who is calling.
  app.use('*', authenticate());
  app.route('/', idpRoutes);
  app.route('/', ssoRoutes);
  app.route('/', accountRoutes);
  app.onError(handleError);
  app.notFound(handleNotFound);
  return app;
}
