import type { Context } from 'hono';

/** The client's address: Cloudflare's CF-Connecting-IP, else the first X-Forwarded-For hop. */
export function clientIp(c: Context): string {
  return c.req.header('cf-connecting-ip')?.trim() || c.req.header('x-forwarded-for')?.split(',')[0]?.trim() || 'unknown';
}
