// CSRF protection for the login form: a random token in an HttpOnly, SameSite=Strict cookie and
// the same token in a hidden field (double submit), plus an Origin check.
//
// The cookie is `__Host-phobos_csrf` when the API is served over https: the prefix makes the
// browser refuse it unless it is Secure, for Path=/ and without Domain, so neither a sibling
// subdomain nor a plain-http page can plant or overwrite it. Browsers refuse a `__Host-` cookie
// that is not Secure, and a Secure cookie is not sent over plain http, so a local API on
// http://localhost or 127.0.0.1 uses the unprefixed `phobos_csrf` (Path=/oauth) instead.
//
// Origin: a browser sends it with every form POST; it must be the API's own origin. `Origin: null`
// (sandboxed frames, data: URLs, some cross-origin redirects) is refused like any other foreign
// origin. A request without Origin (not a browser, or a very old one) still needs the token pair.
import type { Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { constantTimeEqual } from '../../platform/encoding';
import { randomSecret } from '../../auth/secrets';

function cookieFor(apiUrl: string): { name: string; secure: boolean; path: string } {
  return apiUrl.startsWith('https:') ? { name: '__Host-phobos_csrf', secure: true, path: '/' } : { name: 'phobos_csrf', secure: false, path: '/oauth' };
}

/**
 * The Referrer-Policy of a page whose form posts back here. Under the app-wide `no-referrer` a browser
 * sends `Origin: null` with the form's POST, which verifyCsrf refuses, so the form could never be sent
 * from a real browser; `same-origin` lets the Origin through while the page's address (a sign-in
 * request, a one-time link) still never reaches another site.
 */
export const formPageReferrerPolicy = 'same-origin';

export function issueCsrfToken(c: Context, apiUrl: string): string {
  const token = randomSecret(24);
  const cookie = cookieFor(apiUrl);
  setCookie(c, cookie.name, token, { httpOnly: true, sameSite: 'Strict', secure: cookie.secure, path: cookie.path, maxAge: 1800 });
  return token;
}

export function verifyCsrf(c: Context, submitted: string | undefined, apiUrl: string): boolean {
  const origin = c.req.header('origin');
  if (origin !== undefined && origin !== new URL(apiUrl).origin) return false;
  const cookie = getCookie(c, cookieFor(apiUrl).name);
  return !!cookie && !!submitted && constantTimeEqual(cookie, submitted);
}
