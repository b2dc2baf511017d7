// Which client address rate limiting and sign-in throttling see: a header only where something the
// client cannot talk past wrote it (PHOBOS_CLIENT_IP_HEADER; none for a local server).
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load';
import type { AppEnv } from '../../../src/http/app-env';
import { clientIp } from '../../../src/http/client-ip';

function addressSeenBy(env: Record<string, string>, headers: Record<string, string>): Promise<string> {
  const app = new Hono<AppEnv>();
  const config = loadConfig(env);
  app.get('/', (c) => {
    c.set('config', config);
    return c.text(clientIp(c));
  });
  return Promise.resolve(app.request('/', { headers })).then((response) => response.text());
}

const spoofed = { 'cf-connecting-ip': '203.0.113.9', 'x-forwarded-for': '198.51.100.1, 192.0.2.44' };

describe('the client address', () => {
  it.each(['http://localhost:9000', 'http://127.0.0.1:8787', 'http://[::1]:9000', 'http://phobos.localhost'])(
    'ignores every client-sent header on a local server (%s)',
    async (apiUrl) => {
      expect(await addressSeenBy({ PHOBOS_API_URL: apiUrl }, spoofed)).toBe('unknown');
    },
  );

  it("is Cloudflare's CF-Connecting-IP on a deployment with a public URL", async () => {
    expect(await addressSeenBy({ PHOBOS_API_URL: 'https://phobos.example.com' }, spoofed)).toBe('203.0.113.9');
    expect(await addressSeenBy({ PHOBOS_API_URL: 'https://phobos.example.com' }, { 'x-forwarded-for': '198.51.100.1' })).toBe('unknown');
  });

  it('is the last X-Forwarded-For hop, the one your proxy appended, only when configured', async () => {
    expect(await addressSeenBy({ PHOBOS_API_URL: 'https://phobos.example.com', PHOBOS_CLIENT_IP_HEADER: 'x-forwarded-for' }, spoofed)).toBe('192.0.2.44');
  });

  it('is unknown for everyone when PHOBOS_CLIENT_IP_HEADER is none', async () => {
    expect(await addressSeenBy({ PHOBOS_API_URL: 'https://phobos.example.com', PHOBOS_CLIENT_IP_HEADER: 'none' }, spoofed)).toBe('unknown');
  });
});
