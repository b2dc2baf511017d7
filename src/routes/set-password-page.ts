// The set-password page a one-time link opens: server-rendered, usable without JavaScript, one form
// posting the link's token back with a CSRF token (as the sign-in page does). hono/html escapes
// every interpolated value.
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

export type SetPasswordPageModel =
  | { state: 'form'; token: string; csrfToken: string; username: string; minimumLength: number; error?: string }
  | { state: 'unusable' }
  | { state: 'done'; username: string; signInUrl: string };

function body(model: SetPasswordPageModel) {
  switch (model.state) {
    case 'form':
      return html`<h1>Choose a password</h1>
      <p>For <strong>${model.username}</strong>. At least ${model.minimumLength} characters; a few unrelated words make a good one.</p>
      ${model.error ? html`<p class="error" role="alert">${model.error}</p>` : ''}
      <form method="post" action="/oauth/set-password">
        <input type="hidden" name="csrf_token" value="${model.csrfToken}" />
        <input type="hidden" name="token" value="${model.token}" />
        <input type="text" name="username" autocomplete="username" value="${model.username}" hidden readonly />
        <label>New password <input type="password" name="password" autocomplete="new-password" minlength="${model.minimumLength}" required /></label>
        <label>Repeat it <input type="password" name="password_confirmation" autocomplete="new-password" required /></label>
        <button type="submit">Set password</button>
      </form>`;
    case 'unusable':
      return html`<h1>This link cannot be used</h1>
      <p class="error" role="alert">It is invalid, has expired or was already used. Ask an administrator for a new one.</p>`;
    case 'done':
      return html`<h1>Password set</h1>
      <p>You can now sign in as <strong>${model.username}</strong> with your new password.</p>
      <p><a href="${model.signInUrl}">Go to Phobos Edge</a></p>`;
  }
}

export function renderSetPasswordPage(model: SetPasswordPageModel): HtmlEscapedString | Promise<HtmlEscapedString> {
  return html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Set your password · Phobos Edge</title>
    <style>
      body { font-family: system-ui, sans-serif; max-width: 24rem; margin: 4rem auto; padding: 0 1rem; color: #1b1f24; }
      label { display: block; margin-top: 1rem; }
      input[type=password] { width: 100%; padding: .5rem; box-sizing: border-box; }
      button { display: block; width: 100%; margin-top: 1rem; padding: .6rem; }
      .error { border: 1px solid #c0392b; background: #fdecea; padding: .75rem; }
    </style>
  </head>
  <body>
    <main>${body(model)}</main>
  </body>
</html>`;
}
