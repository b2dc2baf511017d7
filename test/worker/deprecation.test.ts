// The retirement headers of the versioning policy (src/rest/deprecation.ts) on a route declared the
// way REST routes are, through the app's error handler: RFC 9745 Deprecation, RFC 8594 Sunset, Link.
import { createRoute, z } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import { forbidden } from '../../src/errors';
import { handleError } from '../../src/http/error-handler';
import { deprecated } from '../../src/rest/deprecation';
import { problemResponses, restRouter } from '../../src/rest/router';

const deprecatedAt = new Date('2026-06-30T23:59:59Z');
const sunsetAt = new Date('2027-01-01T00:00:00Z');

function appWith(retirement: Parameters<typeof deprecated>[0]) {
  const app = restRouter();
  app.onError(handleError);
  const route = createRoute({
    method: 'get',
    path: '/api/v1/old/{id}',
    deprecated: true,
    middleware: [deprecated(retirement)] as const,
    request: { params: z.object({ id: z.string().regex(/^\d+$/) }) },
    responses: { 200: { description: 'ok', content: { 'application/json': { schema: z.object({ id: z.string() }) } } }, ...problemResponses(400, 403) },
  });
  app.openapi(route, (c) => {
    const { id } = c.req.valid('param');
    if (id === '0') throw forbidden();
    return c.json({ id }, 200);
  });
  return app;
}

describe('deprecated()', () => {
  const app = appWith({ deprecatedAt, sunsetAt, link: 'https://docs.example.com/api/v2-migration' });

  it('announces the retirement on a successful answer', async () => {
    const response = await app.request('/api/v1/old/7');
    expect(response.status).toBe(200);
    expect(response.headers.get('deprecation')).toBe('@1782863999');
    expect(response.headers.get('sunset')).toBe('Fri, 01 Jan 2027 00:00:00 GMT');
    expect(response.headers.get('link')).toBe(
      '<https://docs.example.com/api/v2-migration>; rel="deprecation"; type="text/html", <https://docs.example.com/api/v2-migration>; rel="sunset"; type="text/html"',
    );
  });

  it('announces it on error answers too (400 from validation, 403 from the handler)', async () => {
    for (const path of ['/api/v1/old/x', '/api/v1/old/0']) {
      const response = await app.request(path);
      expect([400, 403]).toContain(response.status);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      expect(response.headers.get('deprecation')).toBe('@1782863999');
      expect(response.headers.get('sunset')).toBe('Fri, 01 Jan 2027 00:00:00 GMT');
    }
  });

  it('sends only Deprecation when no sunset or link is decided', async () => {
    const response = await appWith({ deprecatedAt }).request('/api/v1/old/7');
    expect(response.headers.get('deprecation')).toBe('@1782863999');
    expect(response.headers.get('sunset')).toBeNull();
    expect(response.headers.get('link')).toBeNull();
  });

  it('marks the operation deprecated in the OpenAPI document', () => {
    const document = app.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 't', version: '1' } });
    expect((document.paths!['/api/v1/old/{id}'] as { get: { deprecated?: boolean } }).get.deprecated).toBe(true);
  });
});
