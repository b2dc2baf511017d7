// Proxy mode of the REST railing: with PHOENIX_RAILING_URL set, the railing's operations
// (/api/v1/infra, /ve, /health, /tenants) are forwarded to `${PHOENIX_RAILING_URL}${path}${?query}`
// instead of being answered from Proxmox VE, Prometheus and Alertmanager here.
//
// Before anything leaves: authentication has run (401: an anonymous or refused caller is never
// forwarded), the route-level authorization applies (src/domain/infrastructure/forwarding.ts), and
// only the contract's operations are forwarded (anything else under those prefixes is this
// server's 404 or 405). What the upstream receives:
// - the caller's credential exactly as sent (`Authorization` or `X-API-Key`): the upstream is
//   trusted with it, so it must be operated by the same party as this server (it could replay it
//   here until it expires or is revoked) and reached over https;
// - `X-Phobos-Tenant`: the names of the organizations the verified credential speaks for
//   (comma-separated, possibly empty), to scope VMs and health by;
// - `X-Phobos-Cluster`: `view` or `operate` when the caller holds cluster:view / cluster:operate;
// - `X-Request-Id`, `Accept`, `Content-Type` and the body. Nothing else: any `X-Phobos-*` header a
//   client sends is dropped, as are cookies and every other header.
// The answer passes through (status, JSON body, Content-Type and end-to-end headers; hop-by-hop
// headers, cookies and redirects do not), except that an upstream 5xx or an unreachable upstream
// is 502 and no answer within PHOBOS_RAILING_UPSTREAM_TIMEOUT_SECONDS is 504, as problem+json.
import type { MiddlewareHandler } from 'hono';
import { authorizeForwarding, type ForwardingRequirement } from '../domain/infrastructure/forwarding';
import { AppError } from '../errors';
import type { AppEnv } from '../http/app-env';
import { fetchUpstream, type UpstreamCall } from './upstream';

// A node and a vmid as the local routes accept them (src/rest/infrastructure-schemas.ts): nothing
// else is forwarded, so an encoded separator (`..%2F`) can never reach another upstream route.
const node = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const vmid = '[1-9][0-9]{2,8}';

/** The operations of the railing contract, and what each needs before it is forwarded. */
const forwardedOperations: { method: string; path: RegExp; needs: ForwardingRequirement }[] = [
  { method: 'GET', path: /^\/api\/v1\/infra\/(nodes|storage)$/, needs: 'cluster:view' },
  { method: 'GET', path: /^\/api\/v1\/health\/(summary|metrics|alerts)$/, needs: 'cluster:view' },
  { method: 'GET', path: /^\/api\/v1\/ve\/vms$/, needs: 'credentials' },
  { method: 'GET', path: new RegExp(`^/api/v1/ve/vms/${node}/${vmid}/status$`), needs: 'credentials' },
  { method: 'POST', path: new RegExp(`^/api/v1/ve/vms/${node}/${vmid}/(start|stop|reboot)$`), needs: 'operate' },
  { method: 'GET', path: /^\/api\/v1\/tenants\/me\/(resources|health)$/, needs: 'credentials' },
];

/** The request headers that may go upstream, besides the ones set here. */
const forwardedRequestHeaders = ['accept', 'content-type', 'authorization', 'x-api-key'];

/** Response headers that stay here: hop-by-hop (RFC 9110 §7.6.1), cookies, and what the body's re-encoding changes. */
const withheldResponseHeaders = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'set-cookie',
  'content-length',
  'content-encoding',
  'x-request-id',
]);

const isTimeout = (error: unknown) => error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');

export const forwardToPhoenixRailing: MiddlewareHandler<AppEnv> = async (c, next) => {
  const base = c.get('config').railing.phoenixRailingUrl;
  if (!base) return next();
  const url = new URL(c.req.url);
  // Hono answers HEAD with its GET route, dropping the body: so does the proxy (the upstream sees a GET).
  const method = c.req.method === 'HEAD' ? 'GET' : c.req.method;
  const operation = forwardedOperations.find((candidate) => candidate.method === method && candidate.path.test(url.pathname));
  if (!operation) return next();

  const grant = await authorizeForwarding(c.get('database')().http, await c.get('caller')(), operation.needs);
  const headers = new Headers();
  for (const name of forwardedRequestHeaders) {
    const value = c.req.header(name);
    if (value !== undefined) headers.set(name, value);
  }
  headers.set('x-request-id', c.get('requestId'));
  headers.set('x-phobos-tenant', grant.tenants.map((tenant) => tenant.name).join(','));
  if (grant.cluster) headers.set('x-phobos-cluster', grant.cluster);

  const call: UpstreamCall = { upstream: 'The Phoenix railing', timeoutSeconds: c.get('config').railing.upstreamTimeoutSeconds };
  const response = await fetchUpstream(call, `${base.replace(/\/+$/, '')}${url.pathname}${url.search}`, {
    method,
    headers,
    body: method === 'GET' ? undefined : await c.req.arrayBuffer(),
    // A redirect would take the caller's credential somewhere else: never followed, never passed on.
    redirect: 'manual',
  });
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel();
    throw new AppError('BAD_GATEWAY', `${call.upstream} answered with a redirect (${response.status})`);
  }
  // Read within the same deadline (the request's signal still runs), so a body that stalls is a 504 too.
  let body: ArrayBuffer;
  try {
    body = await response.arrayBuffer();
  } catch (cause) {
    if (isTimeout(cause)) throw new AppError('GATEWAY_TIMEOUT', `${call.upstream} did not answer within ${call.timeoutSeconds} s`, { cause });
    throw new AppError('BAD_GATEWAY', `${call.upstream} broke off its answer`, { cause });
  }
  const passed: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (!withheldResponseHeaders.has(name)) passed[name] = value;
  });
  // 204, 205 and 304 carry no body, and a Response refuses one (even an empty one) with them.
  const bodiless = response.status === 204 || response.status === 205 || response.status === 304;
  if (bodiless) return c.body(null, response.status as 204, passed);
  return c.body(body, response.status as 200, passed);
};
