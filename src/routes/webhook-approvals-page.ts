// The approval link's page: server-rendered, usable without JavaScript, one form posting the link's
// token back. hono/html escapes every interpolated value.
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

export type ApprovalPageModel =
  | { state: 'confirm'; token: string; username: string; nodePath: string; nodeKind: string; pipelineId: string; projectName: string; organizationName: string }
  | { state: 'approved'; nodePath: string }
  | { state: 'refused'; message: string };

function body(model: ApprovalPageModel) {
  switch (model.state) {
    case 'confirm':
      return html`<h1>Approve ${model.nodeKind.toLowerCase()} ${model.nodePath}?</h1>
      <p>In ${model.organizationName}/${model.projectName}, pipeline ${model.pipelineId}. You approve as <strong>${model.username}</strong>; this link works once.</p>
      <form method="post" action="/webhooks/approvals">
        <input type="hidden" name="token" value="${model.token}" />
        <button type="submit">Approve</button>
      </form>`;
    case 'approved':
      return html`<h1>Approved</h1>
      <p>Your approval of ${model.nodePath} is recorded.</p>`;
    case 'refused':
      return html`<h1>Not approved</h1>
      <p class="error" role="alert">${model.message}</p>`;
  }
}

export function renderApprovalPage(model: ApprovalPageModel): HtmlEscapedString | Promise<HtmlEscapedString> {
  return html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="robots" content="noindex" />
    <title>Phobos Edge approval</title>
    <style>
      body { font-family: system-ui, sans-serif; max-width: 36rem; margin: 3rem auto; padding: 0 1rem; }
      .error { color: #b00020; }
      button { padding: 0.5rem 1.5rem; }
    </style>
  </head>
  <body>
    ${body(model)}
  </body>
</html>`;
}
