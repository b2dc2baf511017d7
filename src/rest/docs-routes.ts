// GET /api/docs/openapi.json (the OpenAPI 3.1 document) and GET /api/docs (its reference page).
// Public, like a discovery document: they describe the API's shape, never anyone's data, and a
// client needs them before it has a credential. Registered on the app itself, after every other
// route, because the document is the app's.
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from '../http/app-env';
import { apiDocumentOf } from './api-document';
import { renderReferencePage } from './reference-page';

// No script, font, image or frame: the page is HTML and an inline stylesheet, nothing more.
const referencePagePolicy = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const documentRoute = createRoute({
  method: 'get',
  path: '/api/docs/openapi.json',
  tags: ['Documentation'],
  summary: 'This OpenAPI 3.1 document',
  description: 'Generated from the route definitions; generate a typed client from it (e.g. openapi-typescript).',
  security: [],
  responses: {
    200: {
      description: 'The document.',
      content: { 'application/json': { schema: z.record(z.string(), z.unknown()).openapi({ description: 'An OpenAPI 3.1 document.' }) } },
    },
  },
});

const referenceRoute = createRoute({
  method: 'get',
  path: '/api/docs',
  tags: ['Documentation'],
  summary: 'The API reference, to read in a browser',
  description: 'Server-rendered from this document: no scripts, nothing loaded from elsewhere.',
  security: [],
  responses: { 200: { description: 'The reference page.', content: { 'text/html': { schema: z.string() } } } },
});

export function registerApiDocs(app: OpenAPIHono<AppEnv>): void {
  const withServer = (apiUrl: string) => ({ ...apiDocumentOf(app), servers: [{ url: apiUrl }] });
  let page: string | undefined;
  app.openapi(documentRoute, (c) => c.json(withServer(c.get('config').server.apiUrl), 200));
  app.openapi(referenceRoute, async (c) => {
    page ??= (await renderReferencePage(apiDocumentOf(app))).toString();
    c.header('content-security-policy', referencePagePolicy);
    c.header('cache-control', 'public, max-age=300');
    return c.html(page, 200);
  });
}
