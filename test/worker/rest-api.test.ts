// The REST API as a whole: its OpenAPI document and reference page, the credential check in front
// of /api/v1 (401 for anonymous callers, unknown paths and methods included; 405 for a known path's
// other methods), and the identity routes through the typed client generated from the document.
import { beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../support/api-client';
import { graphqlHarness, type GraphQLHarness, type Identity } from '../support/graphql';

let h: GraphQLHarness;
let user: Identity;
const bearer = (identity: Identity) => ({ authorization: `Bearer ${identity.accessToken}` });

beforeAll(async () => {
  h = await graphqlHarness();
  user = await h.createUser();
});

describe('GET /api/docs/openapi.json', () => {
  it('serves the OpenAPI 3.1 document to anyone, with this server as its server', async () => {
    const { data, response } = await apiClient(h).GET('/api/docs/openapi.json');
    expect(response.status).toBe(200);
    expect(data).toMatchObject({ openapi: '3.1.0', info: { title: 'Phobos Edge API' }, servers: [{ url: h.config.server.apiUrl }] });
    expect(Object.keys(data!.paths as object)).toEqual(expect.arrayContaining(['/auth/api-keys', '/auth/api-keys/{id}', '/api/v1/jobs/{jobId}/log/stream']));
  });
});

describe('GET /api/docs', () => {
  it('is a self-contained HTML reference: no script, nothing loaded from elsewhere', async () => {
    const response = await h.request('/api/docs');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const policy = response.headers.get('content-security-policy')!;
    expect(policy).toContain("default-src 'none'");
    expect(policy).not.toContain('script-src');
    const page = await response.text();
    expect(page).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i);
    expect(page).not.toMatch(/(src|href)="(https?:)?\/\//i);
    // Operations grouped by tag, with parameters, bodies, responses, schemas and the auth schemes.
    expect(page).toContain('id="tag-Identity"');
    expect(page).toContain('<code>/auth/api-keys/{id}</code>');
    expect(page).toMatch(/<code>id<\/code> <span class="required">required<\/span>/);
    expect(page).toContain('<code>application/problem+json</code>');
    expect(page).toContain('id="schema-ApiKey"');
    expect(page).toContain('header <code>X-API-Key</code>');
    expect(page).toContain('Public: no credentials needed.');
    expect(page).toContain('/agent/v1/*');
  });
});

describe('/api/v1 without credentials', () => {
  it.each([
    ['GET', '/api/v1/no-such-route'],
    ['GET', '/api/v1/'],
    ['GET', '/api/v1'],
    ['PUT', '/api/v1/releases/r/assets/a.txt'],
    ['PATCH', '/api/v1/releases/r/assets/a.txt'],
    ['GET', '/api/v1/jobs/j/log/stream'],
    ['DELETE', '/api/v1/jobs/j/log/stream'],
    // A method no route has (OPTIONS is a CORS preflight, answered before authentication: browsers send none).
    ['PURGE', '/api/v1/infra/nodes'],
    ['POST', '/api/v1/ve/vms/pve1/100/start'],
  ])('%s %s is 401 problem+json naming both schemes', async (method, path) => {
    const response = await h.request(path, { method, body: method === 'PUT' || method === 'PATCH' ? 'x' : undefined });
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(response.headers.get('www-authenticate')).toBe('Bearer, ApiKey');
    expect(await response.json()).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
  });

  it('is 401 for a credential that is present but invalid, with its reason', async () => {
    const response = await h.request('/api/v1/no-such-route', { headers: { 'x-api-key': 'hello' } });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ code: 'UNAUTHENTICATED', detail: 'Malformed API key' });
  });
});

describe('/api/v1 with credentials', () => {
  it('answers 404 for an unknown path', async () => {
    const response = await h.request('/api/v1/no-such-route', { headers: bearer(user) });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('answers 405 with Allow for a method a known path does not have', async () => {
    const stream = await h.request('/api/v1/jobs/some-job/log/stream', { method: 'DELETE', headers: bearer(user) });
    expect(stream.status).toBe(405);
    expect(stream.headers.get('allow')).toBe('GET, HEAD');
    expect(await stream.json()).toMatchObject({ code: 'METHOD_NOT_ALLOWED', status: 405 });
    const asset = await h.request('/api/v1/releases/r/assets/a.txt', { method: 'POST', headers: bearer(user) });
    expect(asset.status).toBe(405);
    expect(asset.headers.get('allow')).toBe('PUT');
  });
});

describe('identity routes through the typed client', () => {
  it('creates, lists, uses and revokes an API key', async () => {
    const api = apiClient(h, bearer(user));
    const created = await api.POST('/auth/api-keys', { body: { name: 'typed client key' } });
    expect(created.response.status).toBe(201);
    expect(created.response.headers.get('cache-control')).toBe('no-store');
    const { apiKey, secret } = created.data!;
    expect(apiKey).toMatchObject({ name: 'typed client key', userId: user.id, organizationId: null, revokedAt: null });
    expect(apiKey.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);

    const me = await apiClient(h, { 'x-api-key': secret }).GET('/auth/whoami');
    expect(me.data).toMatchObject({ kind: 'user', userId: user.id, via: 'api_key', apiKeyId: apiKey.id });

    const listed = await api.GET('/auth/api-keys');
    expect(listed.data!.apiKeys.map((key) => key.id)).toContain(apiKey.id);

    const revoked = await api.DELETE('/auth/api-keys/{id}', { params: { path: { id: apiKey.id } } });
    expect(revoked.data!.apiKey.revokedAt).not.toBeNull();
    expect((await apiClient(h, { 'x-api-key': secret }).GET('/auth/whoami')).response.status).toBe(401);
  });

  it('names the field at fault, and refuses anonymous callers before looking at the input', async () => {
    const api = apiClient(h, bearer(user));
    const badId = await api.DELETE('/auth/api-keys/{id}', { params: { path: { id: 'not-a-uuid' } } });
    expect(badId.response.status).toBe(400);
    expect(badId.error).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id', detail: 'id: must be a UUID' });
    const badExpiry = await api.POST('/auth/api-keys', { body: { name: 'x', expiresAt: 'tomorrow' } });
    expect(badExpiry.error).toMatchObject({ code: 'BAD_USER_INPUT', field: 'expiresAt' });
    const noName = await api.POST('/auth/api-keys', { body: {} as never });
    expect(noName.error).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });

    const anonymous = apiClient(h);
    expect((await anonymous.DELETE('/auth/api-keys/{id}', { params: { path: { id: 'not-a-uuid' } } })).response.status).toBe(401);
    expect((await anonymous.POST('/auth/api-keys', { body: { name: 'x', expiresAt: 'tomorrow' } })).response.status).toBe(401);
  });

  it('refuses a body that is not JSON with 415, and malformed JSON with 400', async () => {
    const asText = await h.request('/auth/api-keys', { method: 'POST', headers: { ...bearer(user), 'content-type': 'text/plain' }, body: 'name=x' });
    expect(asText.status).toBe(415);
    expect(await asText.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
    const malformed = await h.request('/auth/api-keys', { method: 'POST', headers: { ...bearer(user), 'content-type': 'application/json' }, body: '{"name":' });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it("answers the OpenID Provider's machine endpoints as documented", async () => {
    const api = apiClient(h, bearer(user));
    const discovery = await api.GET('/.well-known/openid-configuration');
    expect(discovery.data).toMatchObject({ issuer: h.config.tokenIssuerUrl, token_endpoint: expect.stringMatching(/\/oauth\/token$/) });
    const keys = await api.GET('/.well-known/jwks.json');
    expect(keys.data!.keys.length).toBeGreaterThan(0);
    const claims = await api.GET('/oauth/userinfo');
    expect(claims.data).toMatchObject({ sub: user.id, preferred_username: user.name });
    const refused = await api.POST('/oauth/token', {
      body: { grant_type: 'refresh_token', refresh_token: 'phr_unknown' },
      bodySerializer: (body) => new URLSearchParams(body as Record<string, string>),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(refused.response.status).toBe(400);
    expect(refused.error).toEqual({ error: 'invalid_grant', error_description: 'unknown refresh token' });
  });

  it('answers /healthz and /readyz as documented', async () => {
    const api = apiClient(h);
    expect((await api.GET('/healthz')).data).toEqual({ status: 'ok' });
    const ready = await api.GET('/readyz');
    expect(ready.data).toMatchObject({ status: 'ok', checks: { database: { status: 'pass' }, migrations: { status: 'pass' } } });
  });
});
