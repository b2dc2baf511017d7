// Builds the Hono application from its route modules. Transports stay thin: middleware decides
// request-wide concerns once, routes call domain services.
import { Hono } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import type { AppEnv } from './http/app-env';
import { handleError, handleNotFound } from './http/error-handler';
import { requestContext } from './http/request-context';
import { healthRoutes } from './routes/health';
import { authenticate } from './http/authenticate';
import { bodyLimit } from './http/body-limit';
import { cors } from './http/cors';
import { rateLimit } from './http/rate-limit';
import { idpRoutes } from './auth/idp/routes';
import { ssoRoutes } from './auth/sso/routes';
import { accountRoutes } from './auth/account-routes';
import { graphqlRoutes } from './graphql/routes';

export function createApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use('*', requestContext());
  app.use('*', secureHeaders());
  // Preflights are answered here, before authentication and rate limiting.
  app.use('*', cors());
  app.route('/', healthRoutes);
  app.use('*', bodyLimit());
  // Everything below knows who is calling, and is rate limited per caller (requests whose
  // credentials are refused are counted against their address inside authenticate()).
  app.use('*', authenticate());
  app.use('*', rateLimit());
  app.route('/', idpRoutes);
  app.route('/', ssoRoutes);
  app.route('/', accountRoutes);
  app.route('/', graphqlRoutes);
  app.onError(handleError);
  app.notFound(handleNotFound);
  return app;
}
