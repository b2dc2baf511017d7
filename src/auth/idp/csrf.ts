// CSRF protection for the login form: a random token in an HttpOnly, SameSite=Strict cookie and
// the same token in a hidden field (double submit), plus an Origin check when the browser sends one.
import type { Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { randomSecret, timingSafeEqual } from '../secrets';

const cookieName = 'phobos_csrf';

export function issueCsrfToken(c: Context, secure: boolean): string {
  const token = randomSecret(24);
  setCookie(c, cookieName, token, { httpOnly: true, sameSite: 'Strict', secure, path: '/oauth', maxAge: 1800 });
  return token;
}

export function verifyCsrf(c: Context, submitted: string | undefined, expectedOrigin: string): boolean {
  const origin = c.req.header('origin');
  if (origin && origin !== 'null' && origin !== expectedOrigin) return false;
  const cookie = getCookie(c, cookieName);
  return !!cookie && !!submitted && timingSafeEqual(cookie, submitted);
}
