// An external OpenID Provider for tests: oidc-provider (a certified implementation) on loopback.
// Its login and consent screens are completed automatically for `signInAs`, standing in for the
// person at the keyboard; everything else — authorization, tokens, ID token signing, JWKS,
// discovery — is the real provider.
import { createServer, type Server } from 'node:http';
import Provider from 'oidc-provider';
import { freePort } from '../setup/global-database';

export interface ExternalAccount {
  sub: string;
  email: string;
  email_verified?: boolean;
  preferred_username?: string;
}

export interface ExternalOidc {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Who the automatic login signs in as. */
  signInAs: (account: ExternalAccount) => void;
  stop(): Promise<void>;
}

export async function startExternalOidc(options: { redirectUris: string[] }): Promise<ExternalOidc> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const clientId = 'phobos-edge';
  const clientSecret = 'external-client-secret-for-tests';
  let current: ExternalAccount = { sub: 'nobody', email: 'nobody@example.com' };

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: options.redirectUris,
        token_endpoint_auth_method: 'client_secret_post',
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    cookies: { keys: ['external-oidc-test-cookie-key'] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['preferred_username', 'name'] },
    features: { devInteractions: { enabled: false }, claimsParameter: { enabled: true } },
    pkce: { required: () => true },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    findAccount: (_ctx: unknown, id: string) =>
      id === current.sub ? { accountId: id, claims: () => ({ ...current, name: current.preferred_username }) } : undefined,
  });
  provider.proxy = false;
  const callback = provider.callback();

  const server: Server = createServer(async (req, res) => {
    if (!req.url?.startsWith('/interaction/')) return callback(req, res);
    try {
      const details = await provider.interactionDetails(req, res);
      if (details.prompt.name === 'login') {
        return await provider.interactionFinished(req, res, { login: { accountId: current.sub } }, { mergeWithLastSubmission: false });
      }
      const grant = new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
      const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
      grant.addOIDCScope((missing.missingOIDCScope ?? String(details.params.scope).split(' ')).join(' '));
      if (missing.missingOIDCClaims?.length) grant.addOIDCClaims(missing.missingOIDCClaims);
      const grantId = await grant.save();
      return await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    } catch (error) {
      res.statusCode = 500;
      res.end(String(error));
    }
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));

  return {
    issuer,
    clientId,
    clientSecret,
    signInAs: (account) => {
      current = { email_verified: true, ...account };
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Follows redirects with per-host cookies until the next hop leaves `host`; returns that hop. */
export async function followWithin(start: string, host: string): Promise<string> {
  const jar = new Map<string, string>();
  let location = start;
  for (let hops = 0; hops < 15; hops++) {
    const url = new URL(location);
    if (url.host !== host) return location;
    const response = await fetch(url, { redirect: 'manual', headers: { cookie: [...jar.entries()].map(([k, v]) => `${k}=${v}`).join('; ') } });
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const [name, ...value] = pair!.split('=');
      jar.set(name!.trim(), value.join('='));
    }
    const next = response.headers.get('location');
    if (!next) throw new Error(`no redirect from ${url} (status ${response.status}): ${(await response.text()).slice(0, 300)}`);
    location = new URL(next, url).toString();
  }
  throw new Error('too many redirects');
}
