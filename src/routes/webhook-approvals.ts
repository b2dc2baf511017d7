// The page an approval link opens (GET /webhooks/approvals?token=…) and the form it posts
// (POST /webhooks/approvals). The link's signature is the only credential: no session, no cookie
// (so there is nothing for a cross-site form to ride on). GET never acts — chat clients and mail
// scanners fetch links to preview them — it only shows what the link would approve and a button.
// The token travels in the query string and the form body, which the request log leaves out (it
// logs paths only), and no page passes it on as a referrer. Transport only: the rules are in
// src/domain/webhooks/approve-with-link.ts.
import { Hono, type Context } from 'hono';
import { agentQueuesFor } from '../domain/agents/queues';
import { publishPipelineEventsOfPipelineAfterResponse } from '../domain/pipelines/publish';
import { approveWithLink, describeApprovalLink } from '../domain/webhooks/approve-with-link';
import { kickWebhookDeliveries } from '../domain/webhooks/kick';
import { AppError } from '../errors';
import type { AppEnv } from '../http/app-env';
import { readFormBody } from './oauth/form-body';
import { renderApprovalPage, type ApprovalPageModel } from './webhook-approvals-page';

const path = '/webhooks/approvals';

export const webhookApprovalRoutes = new Hono<AppEnv>();

const statusOf: Partial<Record<string, 400 | 403 | 404 | 409>> = { BAD_USER_INPUT: 400, FORBIDDEN: 403, NOT_FOUND: 404, CONFLICT: 409 };

function page(c: Context<AppEnv>, model: ApprovalPageModel, status: 200 | 400 | 403 | 404 | 409) {
  c.header('cache-control', 'no-store');
  c.header('referrer-policy', 'no-referrer');
  c.header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'");
  return c.html(renderApprovalPage(model), status);
}

/** The page for a refusal the domain named; anything else is the error handler's. */
function refusal(c: Context<AppEnv>, error: unknown) {
  if (error instanceof AppError && statusOf[error.code]) return page(c, { state: 'refused', message: error.message }, statusOf[error.code]!);
  throw error;
}

function waitUntilOf(c: Context<AppEnv>): (promise: Promise<unknown>) => void {
  return (promise) => {
    try {
      c.executionCtx.waitUntil(promise);
    } catch {
      // No execution context (app.request in tests): the promise runs on its own.
    }
  };
}

webhookApprovalRoutes.get(path, async (c) => {
  const token = c.req.query('token') ?? '';
  try {
    const summary = await describeApprovalLink(c.get('database')().http, c.get('config'), token, new Date());
    if (summary.used) return page(c, { state: 'refused', message: 'This approval link was already used' }, 409);
    return page(c, { state: 'confirm', token, ...summary }, 200);
  } catch (error) {
    return refusal(c, error);
  }
});

webhookApprovalRoutes.post(path, async (c) => {
  const { fields, problem } = await readFormBody(c);
  if (problem?.status === 415) throw new AppError('UNSUPPORTED_MEDIA_TYPE', problem.message);
  const config = c.get('config');
  const db = c.get('database')().http;
  try {
    const node = await approveWithLink(db, config, fields.token ?? '', new Date());
    const waitUntil = waitUntilOf(c);
    const logger = c.get('logger');
    publishPipelineEventsOfPipelineAfterResponse(
      { db, hubs: c.env.PROJECT_EVENT_HUB, queues: agentQueuesFor(c.env, config), logger, waitUntil },
      node.pipelineId,
    );
    kickWebhookDeliveries({ db, config, logger, waitUntil }, { pipelineId: node.pipelineId });
    return page(c, { state: 'approved', nodePath: node.path }, 200);
  } catch (error) {
    return refusal(c, error);
  }
});
