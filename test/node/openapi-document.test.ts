// The OpenAPI document (/api/docs/openapi.json) is valid OpenAPI 3.1, describes every REST route
// of the Worker (minus the commented list in src/rest/undocumented-routes.ts), and the typed client
// the tests use (test/support/phobos-api.d.ts) is the one generated from it. The app is built here
// in Node: only its route table is read (vitest.config.ts aliases `cloudflare:workers`).
import { readFileSync } from 'node:fs';
import SwaggerParser from '@apidevtools/swagger-parser';
import { describe, expect, it } from 'vitest';
import { apiTypesPath, renderApiTypes } from '../../scripts/openapi-types';
import { createApp } from '../../src/app';
import { apiDocumentOf, type ApiDocument } from '../../src/rest/api-document';
import { renderReferencePage } from '../../src/rest/reference-page';
import { whyUndocumented } from '../../src/rest/undocumented-routes';

const app = createApp();
const document = apiDocumentOf(app);

/** `METHOD /path` of every operation in the document, paths in Hono's spelling (`:name`). */
function describedRoutes(): Set<string> {
  const routes = new Set<string>();
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const method of Object.keys(item as object)) {
      if (['get', 'put', 'post', 'delete', 'patch', 'head', 'options'].includes(method)) {
        routes.add(`${method.toUpperCase()} ${path.replaceAll(/\{([^}]+)\}/g, ':$1')}`);
      }
    }
  }
  return routes;
}

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1 (swagger-parser)', async () => {
    // validate() dereferences in place: give it a copy.
    const validated = await SwaggerParser.validate(structuredClone(document) as never);
    expect((validated as { openapi: string }).openapi).toBe('3.1.0');
  });

  it('describes every REST route of the app, except the listed ones', () => {
    const registered = [...new Set(app.routes.map((route) => `${route.method} ${route.path}`))];
    const described = describedRoutes();
    const missing = registered.filter((route) => !described.has(route) && !whyUndocumented(route));
    expect(missing).toEqual([]);
    // The other way round: nothing described that the app does not answer, nothing both described and excused.
    expect([...described].filter((route) => !registered.includes(route))).toEqual([]);
    expect([...described].filter((route) => whyUndocumented(route))).toEqual([]);
  });

  it('fails the coverage check for a route added without a definition', () => {
    const extended = createApp();
    extended.get('/api/v1/undocumented', (c) => c.json({}));
    const registered = extended.routes.map((route) => `${route.method} ${route.path}`);
    const described = describedRoutes();
    expect(registered.filter((route) => !described.has(route) && !whyUndocumented(route))).toEqual(['GET /api/v1/undocumented']);
  });

  it('declares the bearer and X-API-Key schemes and requires one of them unless a route says otherwise', () => {
    expect(document.components?.securitySchemes).toMatchObject({
      bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
      apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
    });
    expect(document.security).toEqual([{ bearer: [] }, { apiKey: [] }]);
    const paths = document.paths as Record<string, Record<string, { security?: unknown[] }>>;
    expect(paths['/healthz']!.get!.security).toEqual([]);
    expect(paths['/api/docs/openapi.json']!.get!.security).toEqual([]);
    expect(paths['/auth/whoami']!.get!.security).toBeUndefined();
  });

  it('describes problem+json errors, named parameters and request bodies', () => {
    const paths = document.paths as Record<string, Record<string, Record<string, unknown>>>;
    const revoke = paths['/auth/api-keys/{id}']!.delete as {
      parameters: { name: string; in: string; required: boolean }[];
      responses: Record<string, unknown>;
    };
    expect(revoke.parameters).toContainEqual(expect.objectContaining({ name: 'id', in: 'path', required: true }));
    expect(revoke.responses['401']).toMatchObject({ content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } });
    const create = paths['/auth/api-keys']!.post as { requestBody: { content: Record<string, { schema: { required: string[] } }> } };
    expect(create.requestBody.content['application/json']!.schema.required).toEqual(['name']);
  });
});

describe('the reference page', () => {
  it('escapes everything the document says, rendering only its code spans', async () => {
    const hostile = {
      ...document,
      info: { ...document.info, description: 'Send `<b>X-API-Key</b>` <script>alert(1)</script>' },
      paths: { '/x/{a"b}': { get: { summary: '<img src=x onerror=alert(1)>', responses: { 200: { description: '`ok`' } } } } },
    } as unknown as ApiDocument;
    const page = String(await renderReferencePage(hostile));
    expect(page).not.toMatch(/<script|<img|<b>/);
    expect(page).toContain('<code>&lt;b&gt;X-API-Key&lt;/b&gt;</code> &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(page).toContain('<code>/x/{a&quot;b}</code>');
    expect(page).toContain('<dd><code>ok</code>');
  });
});

describe('the typed client (test/support/phobos-api.d.ts)', () => {
  it('is the one generated from the document (run `npm run openapi:types` when this fails)', async () => {
    expect(readFileSync(apiTypesPath, 'utf8')).toBe(await renderApiTypes(document));
  });
});
