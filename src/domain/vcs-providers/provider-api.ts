// The calls Phobos makes to a GitHub or GitLab instance: who a token belongs to (the REST API's
// user endpoint), and the OAuth token endpoint (redeeming an authorization code, refreshing).
// Secrets go out in headers and bodies only, and nothing a provider answers is echoed beyond its
// short OAuth error code.
import type { VcsProviderType } from '../../db/schema';
import { AppError, badInput } from '../../errors';
import { textProblem } from '../text';
import { providerNames, tokenEndpoint, userEndpoint } from './endpoints';

const timeoutMs = 10_000;

/** A provider that could not be asked (down, unreachable, not answering JSON). */
function unreachable(type: VcsProviderType, cause: unknown): AppError {
  return new AppError('SERVICE_UNAVAILABLE', `${providerNames[type]} could not be reached; try again later`, { cause });
}

/** An OAuth error code fit to repeat to the client: short, printable, or a placeholder. */
function errorCode(value: unknown, fallback: string): string {
  return typeof value === 'string' && /^[\w.-]{1,64}$/.test(value) && !textProblem(value) ? value : fallback;
}

/**
 * The account name the token acts as (GitHub `login`, GitLab `username`). A token the provider
 * refuses is the client's mistake: BAD_USER_INPUT naming `field`.
 */
export async function accountNameOf(type: VcsProviderType, apiUrl: string, token: string, field: string): Promise<string> {
  let response: Response;
  try {
    response = await fetch(userEndpoint(apiUrl), {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json', 'user-agent': 'phobos-edge' },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch {
    throw badInput('apiUrl', `${providerNames[type]} did not answer at this address`);
  }
  if (response.status === 401 || response.status === 403) {
    await response.body?.cancel();
    throw badInput(field, `${providerNames[type]} refused the token (${response.status})`);
  }
  if (response.status >= 500) {
    await response.body?.cancel();
    throw unreachable(type, new Error(`status ${response.status}`));
  }
  const body = (await response.json().catch(() => undefined)) as { login?: unknown; username?: unknown } | undefined;
  const name = type === 'github' ? body?.login : body?.username;
  if (!response.ok || typeof name !== 'string' || !name || name.length > 255 || textProblem(name)) {
    throw badInput('apiUrl', `this address does not answer like the ${providerNames[type]} API (status ${response.status})`);
  }
  return name;
}

export interface OAuthClient {
  type: VcsProviderType;
  url: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

export interface IssuedTokens {
  accessToken: string;
  refreshToken: string | null;
  /** Null when the access token does not expire (GitHub OAuth apps without expiring tokens). */
  expiresAt: Date | null;
}

/** Thrown when the provider refuses a code or a refresh token (RFC 6749 §5.2's `error`). */
export class TokenGrantRefused extends Error {
  constructor(readonly error: string) {
    super(`the provider refused the grant: ${error}`);
    this.name = 'TokenGrantRefused';
  }
}

/** POSTs a grant to the provider's token endpoint (form-encoded, answer in JSON: both providers accept that). */
export async function requestTokens(client: OAuthClient, grant: Record<string, string>): Promise<IssuedTokens> {
  const body = new URLSearchParams({ ...grant, client_id: client.clientId, client_secret: client.clientSecret, redirect_uri: client.redirectUri });
  let response: Response;
  let tokens: { access_token?: unknown; refresh_token?: unknown; expires_in?: unknown; error?: unknown } | undefined;
  try {
    response = await fetch(tokenEndpoint(client.type, client.url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', 'user-agent': 'phobos-edge' },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    tokens = (await response.json().catch(() => undefined)) as typeof tokens;
  } catch (error) {
    throw unreachable(client.type, error);
  }
  if (response.status >= 500 || !tokens) throw unreachable(client.type, new Error(`status ${response.status}`));
  // GitHub answers a refused grant with 200 and an `error` member; GitLab with 400 or 401.
  if (!response.ok || tokens.error !== undefined) throw new TokenGrantRefused(errorCode(tokens.error, `status ${response.status}`));
  if (typeof tokens.access_token !== 'string' || !tokens.access_token) throw unreachable(client.type, new Error('no access token in the answer'));
  const expiresIn = Number(tokens.expires_in);
  return {
    accessToken: tokens.access_token,
    refreshToken: typeof tokens.refresh_token === 'string' && tokens.refresh_token ? tokens.refresh_token : null,
    expiresAt: Number.isFinite(expiresIn) && expiresIn > 0 ? new Date(Date.now() + expiresIn * 1000) : null,
  };
}
