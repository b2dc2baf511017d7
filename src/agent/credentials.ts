// How the agent proves who it is on /agent/v1:
// - an API key of its service account (X-API-Key);
// - its service account's Phobos access token, got by OIDC token exchange (RFC 8693) at
//   /oauth/token from an external token its platform gives it (a CI or cloud workload identity);
//   the external token is read again for every exchange, as platforms rotate the file;
// - an internal agent's credential (`pia_...`, for the agents `npm start` runs).

export interface AgentCredential {
  headers(): Promise<Record<string, string>>;
  /** The server refused the credential (401): forget a cached token so the next call gets a fresh one. */
  invalidate(): void;
}

export function apiKeyCredential(key: string): AgentCredential {
  return { headers: async () => ({ 'x-api-key': key }), invalidate: () => undefined };
}

export function bearerCredential(token: string): AgentCredential {
  return { headers: async () => ({ authorization: `Bearer ${token}` }), invalidate: () => undefined };
}

/** Renew this long before the access token expires. */
const renewBeforeMs = 60_000;

export function tokenExchangeCredential(apiUrl: string, serviceAccount: string, externalToken: () => string): AgentCredential {
  let cached: { token: string; renewAt: number } | null = null;
  let pending: Promise<string> | null = null;

  async function exchange(): Promise<string> {
    const response = await fetch(`${apiUrl.replace(/\/+$/, '')}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: externalToken(),
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        service_account: serviceAccount,
      }),
    });
    const body = (await response.json().catch(() => ({}))) as { access_token?: string; expires_in?: number; error?: string; error_description?: string };
    if (!response.ok || !body.access_token) {
      throw new Error(
        `token exchange for service account ${serviceAccount}: HTTP ${response.status}: ${body.error_description ?? body.error ?? 'no access token'}`,
      );
    }
    const lifetimeMs = (body.expires_in ?? 300) * 1000;
    cached = { token: body.access_token, renewAt: Date.now() + Math.max(lifetimeMs - renewBeforeMs, lifetimeMs / 2) };
    return body.access_token;
  }

  return {
    async headers() {
      if (!cached || Date.now() >= cached.renewAt) {
        pending ??= exchange().finally(() => {
          pending = null;
        });
        await pending;
      }
      return { authorization: `Bearer ${cached!.token}` };
    },
    invalidate() {
      cached = null;
    },
  };
}
