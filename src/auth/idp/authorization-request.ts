// Validation of an OAuth 2.0 authorization request to the built-in provider. Only the Phobos
// client (PHOBOS_OIDC_INTERNAL_IDENTITY_PROVIDER_CLIENT_ID) is registered: a public client that
// must use PKCE with S256. Redirect URIs are the console's callback on the UI or API URL, or a
// loopback address on any port (RFC 8252 §7.3, for the CLI). Scopes are those of supportedScopes,
// and `openid` is required.
import type { PhobosConfig } from '../../config/load';
import { isCanonicalBase64url } from '../../platform/encoding';

export interface AuthorizationRequest {
  client_id: string;
  redirect_uri: string;
  response_type: 'code';
  scope: string;
  state: string;
  nonce: string;
  code_challenge: string;
  code_challenge_method: 'S256';
}

export type Validation =
  /** The client or redirect URI is wrong: never redirect, show the error. */
  | { ok: false; redirect: false; error: string }
  /** The redirect URI is trusted: report the error to the client through it. */
  | { ok: false; redirect: true; redirectUri: string; state: string; error: string; description: string }
  | { ok: true; request: AuthorizationRequest };

const fields = ['client_id', 'redirect_uri', 'response_type', 'scope', 'state', 'nonce', 'code_challenge', 'code_challenge_method'] as const;

/** What the provider grants (and publishes as scopes_supported); any other scope is refused. */
export const supportedScopes = ['openid', 'profile', 'email', 'offline_access'] as const;

/**
 * RFC 8252 §7.3, checked on the raw text because URL parsing normalises what it should refuse
 * (`127.1` and `0x7f000001` become `127.0.0.1`): the http scheme, the literal host `127.0.0.1`
 * or `[::1]` (not `localhost`, §8.3), any port, no userinfo, no fragment, no spaces or control
 * characters (which the URL parser would silently drop).
 */
const loopbackRedirect = /^http:\/\/(?:127\.0\.0\.1|\[::1\])(?::\d{1,5})?(?:[/?][^#\p{Cc} ]*)?$/u;

function allowedRedirectUri(config: PhobosConfig, uri: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    return false;
  }
  if (parsed.hash || uri.includes('#')) return false;
  const exact = [`${config.server.uiUrl}/auth/callback`, `${config.server.apiUrl}/auth/callback`];
  if (exact.includes(uri)) return true;
  return loopbackRedirect.test(uri) && !parsed.username && !parsed.password;
}

/** The requested scopes, each once, in request order; undefined when one is not supported. */
function grantableScopes(scope: string): string[] | undefined {
  const requested = [...new Set(scope.split(' ').filter(Boolean))];
  return requested.every((name) => (supportedScopes as readonly string[]).includes(name)) ? requested : undefined;
}

export function validateAuthorizationRequest(config: PhobosConfig, input: Record<string, string | undefined>): Validation {
  const clientId = input.client_id ?? '';
  if (clientId !== config.internalIdentityProviderClientId) return { ok: false, redirect: false, error: 'Unknown client_id' };
  const redirectUri = input.redirect_uri ?? '';
  if (!allowedRedirectUri(config, redirectUri)) return { ok: false, redirect: false, error: 'redirect_uri is not registered for this client' };
  const state = input.state ?? '';
  const fail = (error: string, description: string): Validation => ({ ok: false, redirect: true, redirectUri, state, error, description });
  if (input.response_type !== 'code') return fail('unsupported_response_type', 'response_type must be code');
  const scopes = grantableScopes(input.scope ?? '');
  if (!scopes) return fail('invalid_scope', `scope may only contain ${supportedScopes.join(', ')}`);
  if (!scopes.includes('openid')) return fail('invalid_scope', 'scope must include openid');
  if (input.code_challenge_method !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256 (PKCE is required)');
  // A SHA-256 digest in base64url: 43 characters, the last one with its two unused bits zero.
  const challenge = input.code_challenge ?? '';
  if (challenge.length !== 43 || !isCanonicalBase64url(challenge))
    return fail('invalid_request', 'code_challenge must be a base64url SHA-256 digest (43 characters)');
  if ((input.nonce ?? '').length > 512 || state.length > 512) return fail('invalid_request', 'state and nonce are limited to 512 characters');
  const request = Object.fromEntries(fields.map((field) => [field, input[field] ?? ''])) as unknown as AuthorizationRequest;
  request.scope = scopes.join(' ');
  return { ok: true, request };
}

/**
 * RFC 7636 §4.1: a code_verifier is 43 to 128 characters of the unreserved set. Checked before
 * the code is looked at, so a malformed verifier does not use the code up.
 */
export function isWellFormedCodeVerifier(verifier: string): boolean {
  return /^[A-Za-z0-9\-._~]{43,128}$/.test(verifier);
}

export function redirectWithParams(redirectUri: string, params: Record<string, string>): string {
  const url = new URL(redirectUri);
  for (const [key, value] of Object.entries(params)) if (value) url.searchParams.set(key, value);
  return url.toString();
}

export function requestFields(request: AuthorizationRequest): Record<string, string> {
  return Object.fromEntries(fields.map((field) => [field, request[field]]));
}
