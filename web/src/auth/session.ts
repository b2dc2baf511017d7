// The signed-in session: sign-in with the built-in provider's public client (authorization code +
// PKCE from the browser), tokens held only in this page's memory, refreshed before they expire.
//
// Why memory and not localStorage: anything in localStorage (or sessionStorage) is readable by every
// script that ever runs on this origin, so one injected script would walk away with a refresh token
// that stays good for hours. Held in a closure, a token leaves with the tab. The cost is a new sign-in
// after a reload; the provider's sign-in page brings the user straight back to the page they were on.
// Only the PKCE verifier, state and return path of a sign-in in flight are kept in sessionStorage,
// because the redirect to the provider unloads the page; they are useless without the provider's
// one-time code and are removed as soon as the callback reads them.
import { batch, createSignal } from 'solid-js';
import { apiUrl, clientId, redirectUri } from '../config';
import { challengeOf, randomToken } from './pkce';

interface Tokens {
  accessToken: string;
  refreshToken: string | undefined;
  /** Epoch milliseconds. */
  expiresAt: number;
}

interface PendingSignIn {
  verifier: string;
  state: string;
  returnTo: string;
}

/** Why the sign-in page is showing: the session ended (expired or revoked), or the user signed out. */
export type SignedOutReason = 'expired' | 'signed-out' | 'failed';

const pendingKey = 'phobos.pendingSignIn';
const scope = 'openid profile email offline_access';
/** Refresh this long before the access token expires (it lives 5 minutes by default). */
const refreshMarginMs = 60_000;

const [tokens, setTokens] = createSignal<Tokens | undefined>();
const [reason, setReason] = createSignal<SignedOutReason | undefined>();
export const isSignedIn = (): boolean => tokens() !== undefined;
export const signedOutReason = reason;

class SignInError extends Error {
  override name = 'SignInError';
}

/** Sends the browser to the provider's sign-in page; it comes back to /auth/callback, then `returnTo`. */
export async function beginSignIn(returnTo: string): Promise<void> {
  const verifier = randomToken();
  const state = randomToken();
  sessionStorage.setItem(pendingKey, JSON.stringify({ verifier, state, returnTo } satisfies PendingSignIn));
  const query = new URLSearchParams({
    client_id: clientId,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope,
    state,
    nonce: randomToken(),
    code_challenge: await challengeOf(verifier),
    code_challenge_method: 'S256',
  });
  window.location.assign(`${apiUrl}/oauth/authorize?${query}`);
}

/** Redeems the callback's code; answers where the user was going. */
export async function completeSignIn(search: URLSearchParams): Promise<string> {
  const pending = readPending();
  if (search.get('error')) throw new SignInError(search.get('error_description') ?? search.get('error') ?? 'Sign-in failed');
  if (!pending || search.get('state') !== pending.state) throw new SignInError('This sign-in was not started here or has already been used. Sign in again.');
  const code = search.get('code');
  if (!code) throw new SignInError('The provider sent no authorization code.');
  store(
    await tokenRequest({
      grant_type: 'authorization_code',
      code,
      code_verifier: pending.verifier,
      redirect_uri: redirectUri,
      client_id: clientId,
    }),
  );
  return sameOriginPath(pending.returnTo);
}

/**
 * Where to go after signing in: a path of this origin only. Resolved as the browser would resolve it,
 * so `//host`, `/\\host` and `https://host` (all elsewhere) give the home page instead.
 */
function sameOriginPath(returnTo: string): string {
  if (!returnTo.startsWith('/')) return '/';
  const target = new URL(returnTo, location.origin);
  // `/.//host` resolves to the path `//host`, which a later navigation would read as another host.
  if (target.origin !== location.origin || target.pathname.startsWith('//')) return '/';
  return `${target.pathname}${target.search}${target.hash}`;
}

function readPending(): PendingSignIn | undefined {
  const raw = sessionStorage.getItem(pendingKey);
  sessionStorage.removeItem(pendingKey);
  try {
    return raw ? (JSON.parse(raw) as PendingSignIn) : undefined;
  } catch {
    return undefined;
  }
}

async function tokenRequest(fields: Record<string, string>): Promise<Tokens> {
  const response = await fetch(`${apiUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields),
  });
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok || typeof body.access_token !== 'string') {
    throw new SignInError(String(body.error_description ?? body.error ?? `The token endpoint answered ${response.status}`));
  }
  return {
    accessToken: body.access_token,
    refreshToken: typeof body.refresh_token === 'string' ? body.refresh_token : undefined,
    expiresAt: Date.now() + Number(body.expires_in ?? 300) * 1000,
  };
}

let refreshTimer: ReturnType<typeof setTimeout> | undefined;

function store(next: Tokens): void {
  setTokens(next);
  setReason(undefined);
  clearTimeout(refreshTimer);
  if (next.refreshToken) refreshTimer = setTimeout(() => void refresh(), Math.max(5_000, next.expiresAt - Date.now() - refreshMarginMs));
}

let refreshing: Promise<void> | undefined;

/** Rotates the refresh token for a new access token; one at a time. A refusal ends the session. */
function refresh(): Promise<void> {
  refreshing ??= (async () => {
    const current = tokens();
    try {
      if (!current?.refreshToken) throw new SignInError('no refresh token');
      store(await tokenRequest({ grant_type: 'refresh_token', refresh_token: current.refreshToken, client_id: clientId }));
    } catch {
      endSession('expired');
    } finally {
      refreshing = undefined;
    }
  })();
  return refreshing;
}

/** The access token for a request, refreshed first when it is about to expire; undefined when signed out. */
async function accessToken(): Promise<string | undefined> {
  const current = tokens();
  if (current && current.expiresAt - Date.now() < 10_000) await refresh();
  return tokens()?.accessToken;
}

/** The Authorization header of a request to the API: the bearer access token, or none when signed out. */
export async function authorizationHeaders(): Promise<Record<string, string>> {
  const token = await accessToken();
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** The API refused the token (expired, revoked, signed out elsewhere): back to the sign-in page. */
export function endSession(why: SignedOutReason): void {
  // A request refused after the session already ended (one still in flight when the user signed
  // out) changes nothing: the reason the user is reading stays on screen.
  if (why === 'expired' && tokens() === undefined) return;
  clearTimeout(refreshTimer);
  // Together: the sign-in page mounts as the tokens go, and must already see why (with no reason it
  // would go straight to the provider, and the user would never read that the session ended).
  batch(() => {
    setReason(why);
    setTokens(undefined);
  });
}

/** Revokes this session's refresh token (which ends the session on the server) and forgets the tokens. */
export async function signOut(): Promise<void> {
  const refreshToken = tokens()?.refreshToken;
  endSession('signed-out');
  if (refreshToken) {
    await fetch(`${apiUrl}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: refreshToken, token_type_hint: 'refresh_token', client_id: clientId }),
    })
      // Read to the end (it is empty), or the browser cancels the unread response as the page moves on.
      .then((response) => response.arrayBuffer())
      .catch(() => undefined);
  }
}
