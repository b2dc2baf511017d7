// The built-in provider's sign-in page: server-rendered, usable without JavaScript, one form
// that posts the authorization request back with a CSRF token, plus a link per external provider.
// hono/html escapes every interpolated value.
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

export interface LoginPageModel {
  fields: Record<string, string>;
  csrfToken: string;
  banner?: string;
  error?: string;
  login?: string;
  providers: { slug: string; name: string; href: string }[];
}

export function renderLoginPage(model: LoginPageModel): HtmlEscapedString | Promise<HtmlEscapedString> {
  return html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Sign in · Phobos Edge</title>
    <style>
      body { font-family: system-ui, sans-serif; max-width: 24rem; margin: 4rem auto; padding: 0 1rem; color: #1b1f24; }
      label { display: block; margin-top: 1rem; }
      input[type=text], input[type=password] { width: 100%; padding: .5rem; box-sizing: border-box; }
      button, .provider { display: block; width: 100%; margin-top: 1rem; padding: .6rem; text-align: center; }
      .banner { border: 1px solid #c9a400; background: #fff8d6; padding: .75rem; white-space: pre-wrap; }
      .error { border: 1px solid #c0392b; background: #fdecea; padding: .75rem; }
    </style>
  </head>
  <body>
    <main>
      <h1>Sign in to Phobos Edge</h1>
      ${model.banner ? html`<div class="banner" role="note">${model.banner}</div>` : ''}
      ${model.error ? html`<p class="error" role="alert">${model.error}</p>` : ''}
      <form method="post" action="/oauth/login">
        <input type="hidden" name="csrf_token" value="${model.csrfToken}" />
        ${Object.entries(model.fields).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}" />`)}
        <label>Email or username <input type="text" name="login" autocomplete="username" required value="${model.login ?? ''}" /></label>
        <label>Password <input type="password" name="password" autocomplete="current-password" required /></label>
        <button type="submit">Sign in</button>
      </form>
      ${
        model.providers.length
          ? html`<h2>Or sign in with</h2>${model.providers.map((provider) => html`<a class="provider" href="${provider.href}">${provider.name}</a>`)}`
          : ''
      }
    </main>
  </body>
</html>`;
}
