// A typed REST client over the real app, generated from its OpenAPI document: openapi-fetch with
// the types `npm run openapi:types` writes (./phobos-api.d.ts). Paths, parameters, bodies and
// answers are checked by the compiler, so a test cannot call a route the document does not describe.
import createClient from 'openapi-fetch';
import type { GraphQLHarness } from './graphql';
import type { paths } from './phobos-api';

export type ApiClient = ReturnType<typeof createClient<paths>>;

/** A client sending `headers` (a bearer token, an API key) with every request. */
export function apiClient(h: Pick<GraphQLHarness, 'request'>, headers: Record<string, string> = {}): ApiClient {
  return createClient<paths>({
    baseUrl: 'http://localhost',
    headers,
    fetch: (request) => {
      const url = new URL(request.url);
      return h.request(`${url.pathname}${url.search}`, request);
    },
  });
}
