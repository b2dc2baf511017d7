// The login form's CSRF cookie: `__Host-` prefixed wherever the API is https, so no sibling
// subdomain or plain-http page can plant it; unprefixed only on a plain-http local API, where a
// Secure cookie (which `__Host-` requires) could not be set at all.
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { issueCsrfToken, verifyCsrf } from '../../../src/routes/oauth/csrf';

function formApp(apiUrl: string) {
  const app = new Hono();
  app.get('/oauth/authorize', (c) => c.text(issueCsrfToken(c, apiUrl)));
  app.post('/oauth/login', async (c) => c.text(String(verifyCsrf(c, (await c.req.parseBody()).csrf_token as string, apiUrl))));
  return app;
}

async function roundTrip(apiUrl: string, origin?: string) {
  const app = formApp(apiUrl);
  const page = await app.request(`${apiUrl}/oauth/authorize`);
  const setCookie = page.headers.get('set-cookie')!;
  const token = await page.text();
  const verdict = await app.request(`${apiUrl}/oauth/login`, {
    method: 'POST',
    headers: { cookie: setCookie.split(';')[0]!, 'content-type': 'application/x-www-form-urlencoded', ...(origin ? { origin } : {}) },
    body: new URLSearchParams({ csrf_token: token }),
  });
  return { setCookie, accepted: (await verdict.text()) === 'true' };
}

describe('the sign-in form CSRF cookie', () => {
  it('is a __Host- cookie (Secure, Path=/, no Domain) when the API is https', async () => {
    const { setCookie, accepted } = await roundTrip('https://phobos.example.com', 'https://phobos.example.com');
    expect(setCookie).toMatch(/^__Host-phobos_csrf=/);
    expect(setCookie).toContain('Secure');
    expect(setCookie).toContain('Path=/;');
    expect(setCookie).not.toContain('Domain');
    expect(accepted).toBe(true);
  });

  it('is the unprefixed phobos_csrf over plain http', async () => {
    const { setCookie, accepted } = await roundTrip('http://localhost:9000');
    expect(setCookie).toMatch(/^phobos_csrf=/);
    expect(setCookie).not.toContain('Secure');
    expect(accepted).toBe(true);
  });

  it.each(['null', 'https://evil.example', 'http://phobos.example.com', 'https://phobos.example.com:8443'])('refuses Origin: %s', async (origin) => {
    expect((await roundTrip('https://phobos.example.com', origin)).accepted).toBe(false);
  });
});
