// graphql-yoga, set up once per isolate. Yoga runs the GraphQL-over-HTTP protocol (GET and POST,
// parsing, validation, execution, result encoding); everything request-wide — authentication,
// request ids, logging, security headers — has already been done by the Hono app around it.
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { GraphQLContext } from './context';
import { maskError, unexpectedErrorMessage, useErrorReporting, useOpaqueParseErrors } from './errors';
import { useInputRules } from './input-rules';
import { useOperationSpans } from './operation-spans';
import { queryLimitPlugins } from './query-limits';
import { graphqlSchema } from './schema';

export const graphqlEndpoint = '/graphql';

type GraphQLServer = YogaServerInstance<GraphQLContext, Record<string, never>>;

// Two instances at most: with PHOBOS_OTEL_TRACE_ENABLED the server also has the operation-span
// plugin; without it, not even its hooks run.
const servers = new Map<boolean, GraphQLServer>();

export function graphqlServer(traced = false): GraphQLServer {
  let yoga = servers.get(traced);
  if (yoga) return yoga;
  yoga = createYoga<GraphQLContext, Record<string, never>>({
    schema: graphqlSchema(),
    graphqlEndpoint,
    // GraphiQL is served at /graphql-playground, never on the API endpoint itself.
    graphiql: false,
    landingPage: false,
    // CORS is the app's decision (PHOBOS_CORS_ALLOWED_ORIGINS), not yoga's permissive default.
    cors: false,
    multipart: false,
    batching: false,
    // The body is bounded by the route's body limit before yoga reads it; yoga's own limit would
    // stream every body through one more TransformStream (a measurable share of a request's CPU).
    maxRequestBodySize: false,
    maskedErrors: { errorMessage: unexpectedErrorMessage, maskError },
    // Failures are logged by useErrorReporting, with the request's id; yoga's own logger has none.
    logging: false,
    // Input rules before the complexity limit: a broken input is named as such, whatever it costs.
    plugins: [useOpaqueParseErrors(), useInputRules(), ...queryLimitPlugins(), useErrorReporting(), ...(traced ? [useOperationSpans()] : [])],
  });
  servers.set(traced, yoga);
  return yoga;
}
