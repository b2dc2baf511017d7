// Browser sign-in through external providers, over HTTP. The built-in provider's sign-in page links
// to /auth/login/<slug> with the pending authorization request; the provider sends the browser back
// to /auth/callback/<slug>. What happens in between is auth/sso/external-sign-in.ts's.
import { Hono, type Context } from 'hono';
import { validateAuthorizationRequest } from '../auth/idp/authorization-request';
import { finishExternalSignIn, startExternalSignIn } from '../auth/sso/external-sign-in';
import { findSsoProvider, type SsoProvider } from '../auth/sso/providers';
import { AppError } from '../errors';
import type { AppEnv } from '../http/app-env';
import { clientIp } from '../http/client-ip';

export const ssoRoutes = new Hono<AppEnv>();

function providerOr404(c: Context<AppEnv>): SsoProvider {
  const provider = findSsoProvider(c.get('config'), c.req.param('provider') ?? '');
  if (!provider) throw new AppError('NOT_FOUND', `No sign-in provider named ${c.req.param('provider')}`);
  return provider;
}

ssoRoutes.get('/auth/login/:provider', async (c) => {
  const provider = providerOr404(c);
  const validation = validateAuthorizationRequest(c.get('config'), c.req.query());
  if (!validation.ok) throw new AppError('BAD_USER_INPUT', validation.redirect ? validation.description : validation.error);
  const target = await startExternalSignIn({ config: c.get('config'), db: c.get('database')().http }, provider, validation.request);
  return c.redirect(target, 302);
});

ssoRoutes.get('/auth/callback/:provider', async (c) => {
  const provider = providerOr404(c);
  const { state, code, error } = c.req.query();
  const place = { address: clientIp(c), userAgent: c.req.header('user-agent') };
  const target = await finishExternalSignIn({ config: c.get('config'), db: c.get('database')().http, logger: c.get('logger'), place }, provider, {
    state,
    code,
    error,
  });
  return c.redirect(target, 302);
});

// The console's own redirect URI: a client-side route, served by the console in the unified build.
ssoRoutes.get('/auth/callback', async (c) => {
  if (!c.env.ASSETS) throw new AppError('NOT_FOUND', 'This API-only build does not serve the console');
  return c.env.ASSETS.fetch(new Request(new URL('/index.html', c.req.url)));
});
