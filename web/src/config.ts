// Where the API is and which OAuth client the console is. Read from index.html's meta tags, so one
// build serves both ways: same origin in the unified Worker (empty URL), or a Pages deployment whose
// index.html names the API's URL.
function meta(name: string): string {
  return document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content.trim() ?? '';
}

/** The API's origin, without a trailing slash. */
export const apiUrl = (meta('phobos-api-url') || window.location.origin).replace(/\/+$/, '');

/** The built-in provider's public client (PHOBOS_OIDC_INTERNAL_IDENTITY_PROVIDER_CLIENT_ID). */
export const clientId = meta('phobos-client-id') || 'phobos';

/** The console's own sign-in callback: `${PHOBOS_UI_URL}/auth/callback` as the provider registers it. */
export const redirectUri = `${window.location.origin}/auth/callback`;
