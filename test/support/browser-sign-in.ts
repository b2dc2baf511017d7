// Browser-like sign-in helpers shared by the tests and the benchmark (no test-runner imports).

/** A minimal cookie jar for driving browser flows with fetch. */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  store(response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const [name, ...value] = pair!.split('=');
      this.cookies.set(name!.trim(), value.join('='));
    }
  }

  header(): string {
    return [...this.cookies.entries()].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

/** Reads the hidden and named inputs of the first form on a page. */
export function formFields(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of html.matchAll(/<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) {
    fields[match[1]!] = match[2]!.replaceAll('&amp;', '&').replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>');
  }
  return fields;
}

/** Signs in through the built-in provider's form (authorization code + PKCE) and returns the tokens. */
export async function signInWithPassword(server: { url: string }, login: string, password: string): Promise<{ access_token: string; refresh_token: string }> {
  const verifier = crypto.randomUUID() + crypto.randomUUID();
  const challenge = Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))).toString('base64url');
  const redirectUri = `${server.url}/auth/callback`;
  const authorize = new URL(`${server.url}/oauth/authorize`);
  for (const [key, value] of Object.entries({
    client_id: 'phobos',
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: 'openid email',
    state: 's',
    nonce: 'n',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  })) {
    authorize.searchParams.set(key, value);
  }
  const jar = new CookieJar();
  const page = await fetch(authorize);
  jar.store(page);
  const posted = await fetch(`${server.url}/oauth/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header() },
    body: new URLSearchParams({ ...formFields(await page.text()), login, password }),
  });
  const code = new URL(posted.headers.get('location') ?? 'http://x/').searchParams.get('code');
  if (!code) throw new Error(`sign-in failed with status ${posted.status}`);
  const token = await fetch(`${server.url}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'authorization_code', client_id: 'phobos', code, redirect_uri: redirectUri, code_verifier: verifier }),
  });
  return (await token.json()) as { access_token: string; refresh_token: string };
}
