// The page a one-time set-password link opens (GET /oauth/set-password?token=…) and the form it
// posts (POST /oauth/set-password). It lives beside the sign-in page under /oauth, whose CSRF cookie
// it shares (double submit plus an Origin check, as /oauth/login). The token travels in the query
// string, which the request log leaves out (it logs paths only) and no page passes on to another site
// as a referrer (Referrer-Policy: same-origin, so the form's POST still carries its Origin). Transport only: the rules are in src/domain/users/.
import { Hono, type Context } from 'hono';
import { minimumPasswordLength } from '../domain/users/password-policy';
import { findUsableSetPasswordLink, setPasswordWithLink } from '../domain/users/set-password-links';
import { AppError } from '../errors';
import type { AppEnv } from '../http/app-env';
import { formPageReferrerPolicy, issueCsrfToken, verifyCsrf } from './oauth/csrf';
import { readFormBody } from './oauth/form-body';
import { renderSetPasswordPage, type SetPasswordPageModel } from './set-password-page';

const path = '/oauth/set-password';

/** The link an admin passes on to a user. */
export function setPasswordLinkUrl(apiUrl: string, token: string): string {
  return `${apiUrl}${path}?${new URLSearchParams({ token })}`;
}

export const setPasswordRoutes = new Hono<AppEnv>();

function page(c: Context<AppEnv>, model: SetPasswordPageModel, status: 200 | 400 | 404) {
  c.header('cache-control', 'no-store');
  c.header('referrer-policy', formPageReferrerPolicy);
  c.header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'");
  return c.html(renderSetPasswordPage(model), status);
}

function form(c: Context<AppEnv>, link: { token: string; username: string }, error?: string) {
  const csrfToken = issueCsrfToken(c, c.get('config').server.apiUrl);
  return page(c, { state: 'form', ...link, csrfToken, minimumLength: minimumPasswordLength, error }, error ? 400 : 200);
}

setPasswordRoutes.get(path, async (c) => {
  const token = c.req.query('token') ?? '';
  const link = await findUsableSetPasswordLink(c.get('database')().http, token);
  if (!link) return page(c, { state: 'unusable' }, 404);
  return form(c, { token, username: link.username });
});

setPasswordRoutes.post(path, async (c) => {
  const config = c.get('config');
  const { fields, problem } = await readFormBody(c);
  if (problem?.status === 415) throw new AppError('UNSUPPORTED_MEDIA_TYPE', problem.message);
  const db = c.get('database')().http;
  const token = fields.token ?? '';
  const link = await findUsableSetPasswordLink(db, token);
  if (!link) return page(c, { state: 'unusable' }, 404);
  const shown = { token, username: link.username };
  if (!verifyCsrf(c, fields.csrf_token, config.server.apiUrl)) return form(c, shown, 'This form expired. Please enter your new password again.');
  if (problem) return form(c, shown, problem.message);
  const password = fields.password ?? '';
  if (password !== (fields.password_confirmation ?? '')) return form(c, shown, 'The two passwords differ.');
  try {
    const username = await setPasswordWithLink(db, token, password);
    c.get('logger').info('password set with a one-time link', { userId: link.userId });
    return page(c, { state: 'done', username, signInUrl: config.server.uiUrl }, 200);
  } catch (error) {
    if (error instanceof AppError && error.code === 'BAD_USER_INPUT') return form(c, shown, error.message);
    if (error instanceof AppError && error.code === 'NOT_FOUND') return page(c, { state: 'unusable' }, 404);
    throw error;
  }
});
