// External sign-in providers: every PHOBOS_OAUTH_PROVIDERS_<n> (slug `oidc-<n>`) and each SSO preset
// enabled in SSO_PROVIDERS. OpenID Connect providers are described by their issuer (endpoints come
// from discovery); GitHub and Google's plain OAuth 2.0 apps have fixed endpoints and a profile API.
// Every provider's callback is ${PHOBOS_API_URL}/auth/callback/<slug>.
import type { PhobosConfig } from '../../config/load';
import type { SsoPresetConfig } from '../../config/sso-presets';

export interface ExternalProfile {
  subject: string;
  email?: string;
  emailVerified?: boolean;
  username?: string;
}

interface BaseProvider {
  slug: string;
  name: string;
  clientId: string;
  clientSecret?: string;
  scope: string;
  /** The claim whose value names the user (PHOBOS_OAUTH_PROVIDERS_<n>_USERNAME_CLAIM, default sub). */
  usernameClaim: string;
}

export interface OidcProvider extends BaseProvider {
  protocol: 'oidc';
  issuer: string;
}

export interface OAuth2Provider extends BaseProvider {
  protocol: 'oauth2';
  /** Namespace of subjects for account linking (there is no `iss` in plain OAuth 2.0). */
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  profile(accessToken: string): Promise<ExternalProfile>;
}

export type SsoProvider = OidcProvider | OAuth2Provider;

async function getJson(url: string, accessToken: string): Promise<unknown> {
  const response = await fetch(url, {
    headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json', 'user-agent': 'phobos-edge' },
    signal: AbortSignal.timeout(5000),
  });
  if (!response.ok) throw new Error(`profile request failed with ${response.status}`);
  return response.json();
}

/** GitHub's user API: the numeric id is the stable subject; the email is the primary verified one. */
function githubProfile(apiBase: string) {
  return async (accessToken: string): Promise<ExternalProfile> => {
    const user = (await getJson(`${apiBase}/user`, accessToken)) as { id: number; login: string; email: string | null };
    const emails = (await getJson(`${apiBase}/user/emails`, accessToken).catch(() => [])) as { email: string; primary: boolean; verified: boolean }[];
    const primary = emails.find((entry) => entry.primary && entry.verified);
    return { subject: String(user.id), username: user.login, email: primary?.email ?? user.email ?? undefined, emailVerified: Boolean(primary) };
  };
}

function preset(p: SsoPresetConfig): SsoProvider {
  const { slug, name } = p;
  const oidc = (issuer: string, clientId: string, clientSecret: string): OidcProvider => ({
    protocol: 'oidc',
    slug,
    name,
    issuer,
    clientId,
    clientSecret,
    scope: 'openid profile email',
    usernameClaim: 'preferred_username',
  });
  switch (p.slug) {
    case 'google':
      return {
        protocol: 'oauth2',
        slug,
        name,
        issuer: 'https://accounts.google.com',
        clientId: p.clientId,
        clientSecret: p.clientSecret,
        scope: 'openid email profile',
        usernameClaim: 'email',
        authorizationEndpoint: 'https://accounts.google.com/o/oauth2/v2/auth',
        tokenEndpoint: 'https://oauth2.googleapis.com/token',
        profile: async (token) => {
          const info = (await getJson('https://openidconnect.googleapis.com/v1/userinfo', token)) as { sub: string; email?: string; email_verified?: boolean };
          return { subject: info.sub, email: info.email, emailVerified: info.email_verified, username: info.email };
        },
      };
    case 'google-oidc':
      return oidc('https://accounts.google.com', p.clientId, p.clientSecret);
    case 'github':
      return {
        protocol: 'oauth2',
        slug,
        name,
        issuer: 'https://github.com',
        clientId: p.clientId,
        clientSecret: p.clientSecret,
        scope: 'read:user user:email',
        usernameClaim: 'login',
        authorizationEndpoint: 'https://github.com/login/oauth/authorize',
        tokenEndpoint: 'https://github.com/login/oauth/access_token',
        profile: githubProfile('https://api.github.com'),
      };
    case 'github-enterprise':
      return {
        protocol: 'oauth2',
        slug,
        name,
        issuer: p.baseUrl,
        clientId: p.clientId,
        clientSecret: p.clientSecret,
        scope: 'read:user user:email',
        usernameClaim: 'login',
        authorizationEndpoint: `${p.baseUrl}/login/oauth/authorize`,
        tokenEndpoint: `${p.baseUrl}/login/oauth/access_token`,
        // Phase's convention: GITHUB_ENTERPRISE_API_URL + /v3/user.
        profile: githubProfile(`${p.apiUrl}/v3`),
      };
    case 'gitlab':
      return { ...oidc(p.authUrl, p.clientId, p.clientSecret), scope: 'openid profile email', usernameClaim: 'nickname' };
    case 'authentik':
      // Authentik's issuer for an application ends with a slash.
      return oidc(`${p.url}/application/o/${p.appSlug}/`, p.clientId, p.clientSecret);
    case 'authelia':
      return oidc(p.url, p.clientId, p.clientSecret);
    case 'jumpcloud-oidc':
      return oidc('https://oauth.id.jumpcloud.com/', p.clientId, p.clientSecret);
    case 'entra-id-oidc':
      return oidc(`https://login.microsoftonline.com/${p.tenantId}/v2.0`, p.clientId, p.clientSecret);
    case 'okta-oidc':
      return oidc(p.issuer, p.clientId, p.clientSecret);
  }
}

const registries = new WeakMap<PhobosConfig, SsoProvider[]>();

/** Every configured provider, generic ones first. Configuration has already checked the variables. */
export function ssoProviders(config: PhobosConfig): SsoProvider[] {
  let providers = registries.get(config);
  if (!providers) {
    const generic: SsoProvider[] = config.oauthProviders.map((provider) => ({
      protocol: 'oidc',
      slug: `oidc-${provider.index}`,
      name: new URL(provider.issuerUrl).host,
      issuer: provider.issuerUrl,
      clientId: provider.clientId,
      clientSecret: provider.clientSecret,
      scope: provider.scope,
      usernameClaim: provider.usernameClaim,
    }));
    const presets = config.sso.presets.map(preset);
    providers = [...generic, ...presets];
    registries.set(config, providers);
  }
  return providers;
}

export function findSsoProvider(config: PhobosConfig, slug: string): SsoProvider | undefined {
  return ssoProviders(config).find((provider) => provider.slug === slug);
}

/** Links for the sign-in page: `/auth/login/<slug>`, to which the page appends the request. */
export function signInProviderLinks(config: PhobosConfig): { slug: string; name: string; href: string }[] {
  return ssoProviders(config).map((provider) => ({ slug: provider.slug, name: provider.name, href: `/auth/login/${provider.slug}` }));
}
