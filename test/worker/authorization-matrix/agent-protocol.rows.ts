// Authorization rows of the agent protocol (/agent/v1). Session routes act as an agent: only a
// service account assigned to it may (the tenant's account is assigned to the tenant's agent here);
// users, even administrators, are refused (FORBIDDEN to open a session, and a session that is not
// theirs does not exist for them). Job routes take a job token and nothing else: no user or service
// account credential opens them.
import { sql } from 'drizzle-orm';
import { agentPaths } from '../../../src/protocol/agent-v1';
import { insertAgent } from '../../support/agents';
import { h, headersOf, restOutcome, same, tenant, type Actor, type Outcome, type Row } from './world';

export const graphqlRows: Record<string, Row> = {};

let agent: Promise<string> | undefined;

/** The tenant's agent, with the tenant's service account assigned to it. */
function tenantAgent(): Promise<string> {
  agent ??= (async () => {
    const { id } = await insertAgent(h, { organizationId: tenant.id });
    await h.db.http.execute(sql`insert into agent_service_accounts (agent_id, service_account_id) values (${id}, ${tenant.serviceAccountId})`);
    return id;
  })();
  return agent;
}

/** A fresh session of the tenant's agent, opened by its service account. */
async function newSession(): Promise<string> {
  const response = await h.request(agentPaths.sessions, {
    method: 'POST',
    headers: { ...headersOf('service_account'), 'content-type': 'application/json' },
    body: JSON.stringify({ agent: await tenantAgent() }),
  });
  if (response.status !== 201) throw new Error(`session not opened: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { sessionId: string }).sessionId;
}

const sessionRoute = (method: string, path: (sessionId: string) => string, body?: unknown) => async (actor: Actor) =>
  restOutcome(actor, method, path(await newSession()), body);

async function socketOutcome(actor: Actor): Promise<Outcome> {
  const response = await h.request(agentPaths.queue(await newSession()), { headers: { ...headersOf(actor), upgrade: 'websocket' } });
  if (response.status === 101) {
    response.webSocket?.accept();
    response.webSocket?.close(1000, 'done');
    return 'ok';
  }
  await response.body?.cancel();
  return ({ 401: 'UNAUTHENTICATED', 403: 'FORBIDDEN', 404: 'NOT_FOUND' } as Record<number, Outcome>)[response.status] ?? `status ${response.status}`;
}

/** Users are refused an agent's sessions; only the assigned service account acts as the agent. */
const agentOnly = same('NOT_FOUND', { anonymous: 'UNAUTHENTICATED', service_account: 'ok' });
const anyJob = crypto.randomUUID();
const lease = { jobId: crypto.randomUUID(), leaseId: crypto.randomUUID() };

export const restRows: Record<string, Row> = {
  'POST /agent/v1/sessions': {
    run: async (actor) => restOutcome(actor, 'POST', agentPaths.sessions, { agent: await tenantAgent() }),
    expected: same('FORBIDDEN', { anonymous: 'UNAUTHENTICATED', service_account: 'ok' }),
  },
  'DELETE /agent/v1/sessions/:sessionId': { run: sessionRoute('DELETE', agentPaths.session), expected: agentOnly },
  'POST /agent/v1/sessions/:sessionId/heartbeat': { run: sessionRoute('POST', agentPaths.heartbeat, { leases: [] }), expected: agentOnly },
  'POST /agent/v1/sessions/:sessionId/errors': { run: sessionRoute('POST', agentPaths.errors, { message: 'boom' }), expected: agentOnly },
  'POST /agent/v1/sessions/:sessionId/claim': { run: sessionRoute('POST', agentPaths.claim, { capacity: 1, waitSeconds: 0 }), expected: agentOnly },
  'GET /agent/v1/sessions/:sessionId/queue': { run: socketOutcome, expected: agentOnly },
  'POST /agent/v1/sessions/:sessionId/hand-back': { run: sessionRoute('POST', agentPaths.handBack, { leases: [lease] }), expected: agentOnly },
  'GET /agent/v1/jobs/:jobId': { run: (actor) => restOutcome(actor, 'GET', agentPaths.job(anyJob)), expected: same('UNAUTHENTICATED') },
  'POST /agent/v1/jobs/:jobId/running': { run: (actor) => restOutcome(actor, 'POST', agentPaths.running(anyJob)), expected: same('UNAUTHENTICATED') },
  'GET /agent/v1/jobs/:jobId/cancellation': {
    run: (actor) => restOutcome(actor, 'GET', agentPaths.cancellation(anyJob)),
    expected: same('UNAUTHENTICATED'),
  },
  'POST /agent/v1/jobs/:jobId/finish': {
    run: (actor) => restOutcome(actor, 'POST', agentPaths.finish(anyJob), { status: 'FINISHED' }),
    expected: same('UNAUTHENTICATED'),
  },
};
