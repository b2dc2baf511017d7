// The route table: every HTTP surface of the Worker, mounted in one place. Middleware (src/http/)
// decides request-wide concerns once; transports (src/routes/, src/graphql/routes.ts) parse, call a
// service and answer; services (src/auth/, src/domain/) decide.
import { OpenAPIHono } from '@hono/zod-openapi';
import { secureHeaders } from 'hono/secure-headers';
import { jobLogRoutes } from './agent-api/logs';
import { agentApiRoutes } from './agent-api/routes';
import { graphqlRoutes } from './graphql/routes';
import type { AppEnv } from './http/app-env';
import { authenticate } from './http/authenticate';
import { bodyLimit } from './http/body-limit';
import { cors } from './http/cors';
import { handleError, handleNotFound } from './http/error-handler';
import { rateLimit } from './http/rate-limit';
import { requestContext } from './http/request-context';
import { requireApiV1Credentials } from './rest/api-v1-credentials';
import { registerApiDocs } from './rest/docs-routes';
import { methodNotAllowedOr } from './rest/method-not-allowed';
import { railingRoutes } from './rest/railing';
import { accountRoutes } from './routes/account';
import { healthRoutes } from './routes/health';
import { jobLogViewerRoutes } from './routes/job-logs';
import { describeOpenIdProvider } from './routes/oauth/openapi';
import { oauthRoutes } from './routes/oauth/routes';
import { objectRoutes } from './routes/objects';
import { releaseAssetRoutes } from './routes/release-assets';
import { setPasswordRoutes } from './routes/set-password';
import { ssoRoutes } from './routes/sso';
import { vcsRoutes } from './routes/vcs';
import { webhookApprovalRoutes } from './routes/webhook-approvals';

// An OpenAPIHono: REST routes declared with createRoute (src/routes/, src/rest/) are collected into
// the OpenAPI document served at /api/docs/openapi.json (src/rest/docs-routes.ts).
export function createApp(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  app.use('*', requestContext());
  // Defaults for every response; a route that sets one of these headers itself (the sign-in page's
  // Referrer-Policy) keeps its own.
  app.use('*', secureHeaders({ overwrite: false }));
  // Preflights are answered here, before authentication and rate limiting.
  app.use('*', cors());
  // GET /healthz, /readyz: never authenticated, never rate limited.
  app.route('/', healthRoutes);
  app.use('*', bodyLimit());
  // /agent/v1/*: the agent protocol, before the per-caller rate limit. Its traffic is flow-controlled
  // by the agent's queue (a claim is held until there is work, a socket waits at no cost, heartbeats
  // come every 30 s), and a busy agent reporting many jobs' status and logs would otherwise be
  // refused mid-job by a limit meant for people and scripts. Its session routes authenticate through
  // the same authenticate() inside the sub-app (internal agents with their own credential, which
  // authenticate() must not refuse); its job routes take job tokens only.
  app.route('/', agentApiRoutes);
  // PUT /agent/v1/jobs/:jobId/logs: job log chunks, with the job token the route verifies itself;
  // the executor paces its chunks by the answers.
  app.route('/', jobLogRoutes);
  // Everything below knows who is calling, and is rate limited per caller (requests whose
  // credentials are refused are counted against their address inside authenticate()).
  app.use('*', authenticate());
  app.use('*', rateLimit());
  // /api/v1/*: 401 for anonymous callers before routing, unknown paths and methods included.
  app.use('/api/v1/*', requireApiV1Credentials);
  // /.well-known/openid-configuration, /.well-known/jwks.json, /oauth/*: the built-in OpenID Provider.
  app.route('/', oauthRoutes);
  describeOpenIdProvider(app.openAPIRegistry);
  // /oauth/set-password: the page a one-time set-password link opens.
  app.route('/', setPasswordRoutes);
  // /auth/login/:provider, /auth/callback/:provider, /auth/callback: sign-in through external providers.
  app.route('/', ssoRoutes);
  // /auth/whoami, /auth/api-keys: the caller's own identity and keys.
  app.route('/', accountRoutes);
  // /auth/vcs/callback: the OAuth redirect URI of VCS providers.
  app.route('/', vcsRoutes);
  // /webhooks/approvals: the page and form of an approval link a webhook sent (the link's signature authorizes).
  app.route('/', webhookApprovalRoutes);
  // /objects/download: objects behind a download URL the Worker signed (the signature authorizes).
  app.route('/', objectRoutes);
  // PUT /api/v1/releases/:releaseId/assets/:name: a release asset, streamed to the object store.
  app.route('/', releaseAssetRoutes);
  // GET /api/v1/jobs/:jobId/log/stream: a job's log, live, on a WebSocket.
  app.route('/', jobLogViewerRoutes);
  // /api/v1/infra, /ve, /health, /tenants: the REST railing (src/rest/).
  app.route('/', railingRoutes);
  // /graphql, /graphql/schema, /graphql-playground.
  app.route('/', graphqlRoutes);
  // /api/docs/openapi.json, /api/docs: the document of every route above, and its reference page.
  registerApiDocs(app);
  app.onError(handleError);
  app.notFound(methodNotAllowedOr(() => app.routes, handleNotFound));
  return app;
}
