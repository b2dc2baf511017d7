// The GraphQL routes: the API itself (GET and POST /graphql), its SDL and the GraphiQL playground.
// Mounted after the authentication middleware, so the principal, caller and database handle of
// the request are already in the Hono context when the GraphQL context is built from them.
import { printSchema } from 'graphql';
import { Hono } from 'hono';
import { AppError } from '../errors';
import type { AppEnv } from '../http/app-env';
import { createGraphQLContext } from './context';
import { playgroundContentSecurityPolicy, playgroundPage } from './playground';
import { graphqlSchema } from './schema';
import { graphqlEndpoint, graphqlServer } from './server';

export const graphqlRoutes = new Hono<AppEnv>();

let sdl: string | undefined;

/** The schema as SDL: what `GET /graphql/schema` serves and the console's documents are typed against. */
export function schemaSdl(): string {
  sdl ??= printSchema(graphqlSchema());
  return sdl;
}

graphqlRoutes.get(`${graphqlEndpoint}/schema`, (c) => c.text(schemaSdl()));

// GraphiQL pointed at the API endpoint, every file of it from this origin (see playground.ts).
graphqlRoutes.get('/graphql-playground', (c) => {
  if (!c.env.ASSETS) throw new AppError('NOT_FOUND', 'This API-only build does not serve the GraphiQL playground');
  c.header('content-security-policy', playgroundContentSecurityPolicy);
  return c.html(playgroundPage({ endpoint: graphqlEndpoint, title: 'Phobos GraphiQL' }));
});

graphqlRoutes.on(['GET', 'POST'], graphqlEndpoint, async (c) => {
  const response = await graphqlServer(c.get('config').otel.enabled).fetch(c.req.raw, createGraphQLContext(c));
  // Through Hono's context, so the headers middleware already set (x-request-id) are kept.
  return c.newResponse(response.body, response);
});

graphqlRoutes.all(graphqlEndpoint, () => {
  throw new AppError('METHOD_NOT_ALLOWED', 'GraphQL accepts GET and POST', { headers: { allow: 'GET, POST' } });
});
