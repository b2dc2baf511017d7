// The OAuth redirect URI of VCS providers: GitHub or GitLab sends the browser here with a code and
// the state after the user authorized Phobos (domain/vcs-providers/oauth-flow.ts does the rest).
// The state, not the browser's credentials, says who connects what: the provider redirect carries none.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { Hono } from 'hono';
import { finishAuthorization } from '../domain/vcs-providers/oauth-flow';
import { vcsProviderPrn } from '../domain/vcs-providers/records';
import type { AppEnv } from '../http/app-env';

export const vcsRoutes = new Hono<AppEnv>();

vcsRoutes.get('/auth/vcs/callback', async (c) => {
  const { state, code, error } = c.req.query();
  const provider = await finishAuthorization(c.get('database')().http, c.get('config'), { state, code, error });
  c.get('logger').info('vcs provider connected', { providerId: provider.id, type: provider.type });
  return c.json({
    status: 'connected',
    vcsProvider: { id: encodeGlobalID('VCSProvider', provider.id), name: provider.name, prn: vcsProviderPrn(provider), accountName: provider.accountName },
  });
});
