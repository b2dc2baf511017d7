// /agent/v1: the agent protocol (src/protocol/agent-v1.ts), a thin transport over the agent
// sessions (src/domain/agents/sessions.ts), the agent's queue (src/durable/agent-queue.ts) and the
// job service. Two credentials:
// - session routes: the agent process, as a service account assigned to the agent (a bearer access
//   token or an API key, resolved by the same authenticate() as every route), or an internal agent's
//   own credential (`Bearer pia_…`, src/auth/internal-agent-credentials.ts), which authenticate()
//   does not know and must not see;
// - job routes: the job token a claim returned, good for its one job while its lease is the live one.
import { eq, sql } from 'drizzle-orm';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import type { z } from 'zod';
import { verifyInternalAgentCredential, internalAgentCredentialPrefix } from '../auth/internal-agent-credentials';
import { verifyJobToken } from '../auth/job-tokens';
import { signingFor } from '../auth/signing';
import { jobs, organizations, pipelines, projects } from '../db/schema';
import { leaseTimings } from '../domain/agents/leases';
import { mintTemplateJwts } from '../domain/jobs/template-jwts';
import type { TemplateJwt, TemplatePlugin, TemplatePluginRequirement, TemplateVolume } from '../domain/templates/model';
import { resolveJobVolumes } from '../domain/jobs/volumes';
import { resolvePluginRequirements } from '../domain/plugins/resolve';
import { objectStoreFor } from '../platform/object-store/select';
import { agentQueue, agentQueuesFor } from '../domain/agents/queues';
import { closeSession, handBack, heartbeat, openSession, postSessionError, sessionOf, type AgentCredential } from '../domain/agents/sessions';
import { reportJobEnded, reportJobRunning } from '../domain/jobs/tree-transitions';
import { checkFinishInput } from '../domain/jobs/service';
import type { JobReportOutcome } from '../durable/agent-queue';
import { dispatchQueuedJobs } from '../domain/jobs/dispatch';
import { afterJobsChanged } from '../domain/pipelines/publish';
import { jobInputsBinding, openJson, variablesBinding } from '../domain/pipelines/secrets';
import { AppError, badInput, forbidden, notFound, unauthenticated } from '../errors';
import type { AppEnv } from '../http/app-env';
import { authenticate } from '../http/authenticate';
import {
  agentPaths,
  claimRequest,
  finishRequest,
  handBackRequest,
  heartbeatRequest,
  openSessionRequest,
  sessionErrorRequest,
  type CancellationResponse,
  type ClaimResponse,
  type HeartbeatResponse,
  type JobAction,
  type JobInputs,
  type JobStatusResponse,
  type OpenSessionResponse,
} from '../protocol/agent-v1';
import { databaseFor } from '../runtime';

export const agentApiRoutes = new Hono<AppEnv>();

const db = (c: Context<AppEnv>) => databaseFor(c.get('config')).http;
const queues = (c: Context<AppEnv>) => agentQueuesFor(c.env, c.get('config'));
// A job's start and end run in its tree's PipelineTree object, one transition of a tree at a time.
const trees = (c: Context<AppEnv>) => ({ namespace: c.env.PIPELINE_TREE, database: c.get('config').database.name ?? '' });

/** The request's waitUntil; app.request() in tests has no execution context, and the work still runs. */
function waitUntil(c: Context<AppEnv>, promise: Promise<unknown>): void {
  try {
    c.executionCtx.waitUntil(promise);
  } catch {
    // No execution context: the promise runs on its own.
  }
}

async function body<S extends z.ZodType>(c: Context<AppEnv>, schema: S): Promise<z.infer<S>> {
  const raw: unknown = await c.req.json().catch(() => {
    throw badInput('body', 'must be a JSON object');
  });
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw badInput(issue.path.length > 0 ? issue.path.join('.') : 'body', issue.message);
  }
  return parsed.data;
}

// The paths come from agentPaths, so Hono cannot type their parameters; every route here has its one.
const sessionParam = (c: Context<AppEnv>) => c.req.param('sessionId') ?? '';
const jobParam = (c: Context<AppEnv>) => c.req.param('jobId') ?? '';

const internalBearer = `Bearer ${internalAgentCredentialPrefix}`;
const isInternal = (c: Context<AppEnv>) => c.req.header('authorization')?.startsWith(internalBearer) === true;

/** Session routes (per route, so the route table lists routes only): an internal agent's credential passes here; anything else goes through authenticate(). */
const agentAuthentication: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (isInternal(c)) return next();
  return authenticate()(c, next);
};

async function credentialOf(c: Context<AppEnv>): Promise<AgentCredential> {
  if (isInternal(c)) {
    const secret = c.get('config').jwsProvider.keyEncryptionKey;
    const name = secret ? await verifyInternalAgentCredential(secret, c.req.header('authorization')!.slice('Bearer '.length)) : null;
    if (!name) throw unauthenticated('The internal agent credential is invalid');
    return { kind: 'internal', agentName: name };
  }
  return { kind: 'caller', caller: await c.get('caller')() };
}

agentApiRoutes.post(agentPaths.sessions, agentAuthentication, async (c) => {
  const request = await body(c, openSessionRequest);
  const session = await openSession(db(c), await credentialOf(c), request, leaseTimings(c.get('config').agents.leaseSeconds));
  // An agent coming up may be the one jobs waiting for an agent need: route them now, not at the
  // next cron sweep.
  waitUntil(
    c,
    dispatchQueuedJobs({ db: db(c), queues: queues(c) }).catch((error: unknown) => {
      c.get('logger').warn('waiting jobs not dispatched on session open; the cron sweep will', { error });
    }),
  );
  return c.json(session satisfies OpenSessionResponse, 201);
});

agentApiRoutes.delete(agentPaths.session(':sessionId'), agentAuthentication, async (c) => {
  const projects = await closeSession(db(c), queues(c), await credentialOf(c), sessionParam(c));
  // The jobs that were queued for this agent alone go to another eligible one now, not at the next sweep.
  await Promise.all(projects.map((projectId) => afterCommit(c, projectId, true)));
  return c.body(null, 204);
});

agentApiRoutes.post(agentPaths.heartbeat(':sessionId'), agentAuthentication, async (c) => {
  const request = await body(c, heartbeatRequest);
  return c.json((await heartbeat(db(c), queues(c), await credentialOf(c), sessionParam(c), request)) satisfies HeartbeatResponse);
});

agentApiRoutes.post(agentPaths.errors(':sessionId'), agentAuthentication, async (c) => {
  const request = await body(c, sessionErrorRequest);
  await postSessionError(db(c), await credentialOf(c), sessionParam(c), request.message);
  return c.body(null, 204);
});

agentApiRoutes.post(agentPaths.claim(':sessionId'), agentAuthentication, async (c) => {
  const request = await body(c, claimRequest);
  const { session, agent } = await sessionOf(db(c), await credentialOf(c), sessionParam(c));
  const { stub, target } = agentQueue(queues(c), agent.id);
  // A long poll waits in the queue up to ~25 s, and its client may give up meanwhile. The queue
  // cannot see that: an RPC call whose caller went away is cancelled on the Worker's side only (the
  // object's method runs on, and would lease jobs to the claim), so it must be told. workerd aborts
  // the request's signal (compatibility flag enable_request_signal, wrangler.toml) when the client
  // disconnects before the Worker produced its response, and delivers the event in the request's
  // context, where waitUntil keeps the call below alive. Then nobody gets this claim's answer: the
  // queue lets go of the waiting claim, or hands back unused (no attempt counted) the leases it
  // already answered with (`abandonClaim`). Once the response is produced the signal never aborts,
  // so only leases that cannot have reached the agent go back; calls on one stub arrive in order,
  // so the claim is there before its abandonment. Without the flag the signal never aborts, as before.
  const signal = c.req.raw.signal;
  if (signal.aborted) return c.json({ jobs: [] } satisfies ClaimResponse);
  const claimId = crypto.randomUUID();
  signal.addEventListener(
    'abort',
    () =>
      waitUntil(
        c,
        stub.abandonClaim(target, claimId).catch((error: unknown) => {
          c.get('logger').warn('an abandoned claim was not let go of; its leases expire', { claimId, error });
        }),
      ),
    { once: true },
  );
  const leased = await stub.claim(target, { sessionId: session.id, limit: agent.concurrencyLimit }, request.capacity, request.waitSeconds, claimId);
  return c.json({ jobs: leased } satisfies ClaimResponse);
});

agentApiRoutes.get(agentPaths.queue(':sessionId'), agentAuthentication, async (c) => {
  const { session, agent } = await sessionOf(db(c), await credentialOf(c), sessionParam(c));
  if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') throw new AppError('BAD_USER_INPUT', 'Upgrade: websocket expected', { field: 'upgrade' });
  const { stub, target } = agentQueue(queues(c), agent.id);
  return stub.fetch(
    new Request('https://agent-queue/connect', {
      headers: {
        upgrade: 'websocket',
        'x-session-id': session.id,
        'x-agent-id': target.agentId,
        'x-database': target.database,
        'x-concurrency-limit': String(agent.concurrencyLimit),
      },
    }),
  );
});

agentApiRoutes.post(agentPaths.handBack(':sessionId'), agentAuthentication, async (c) => {
  const request = await body(c, handBackRequest);
  await handBack(db(c), queues(c), await credentialOf(c), sessionParam(c), request.leases);
  return c.body(null, 204);
});

// ---- job routes (job token) ------------------------------------------------------------------------

interface TokenJob {
  id: string;
  status: string;
  agentId: string | null;
  projectId: string;
  /** Its tree's root: the job's start and end go to that tree's PipelineTree object. */
  rootPipelineId: string;
  leaseId: string;
}

/**
 * The job the request's job token names, checked against the path (a token opens its own job only)
 * and, unless `allowStale`, against the queue: only the live lease's token counts.
 */
async function tokenJob(c: Context<AppEnv>, options: { allowStale?: boolean } = {}): Promise<TokenJob & { current: boolean }> {
  const authorization = c.req.header('authorization');
  if (!authorization?.startsWith('Bearer ')) throw unauthenticated('A job token is required: Authorization: Bearer <job token>');
  const claims = await verifyJobToken(c.get('config'), authorization.slice('Bearer '.length));
  if (claims.jobId !== jobParam(c)) throw forbidden('This job token is for another job');
  const queueOf = (agentId: string) => agentQueue(queues(c), agentId).stub;
  // The queue named by the token is asked while the job is read (one hop off the request's path);
  // its answer counts only if the job is still routed to that agent.
  const [[job], claimedLive] = await Promise.all([
    db(c)
      .select({ id: jobs.id, status: jobs.status, agentId: jobs.agentId, projectId: jobs.projectId, rootPipelineId: pipelines.rootPipelineId })
      .from(jobs)
      .innerJoin(pipelines, eq(pipelines.id, jobs.pipelineId))
      .where(eq(jobs.id, claims.jobId)),
    claims.agentId === undefined ? null : queueOf(claims.agentId).isCurrentLease(claims.jobId, claims.leaseId),
  ]);
  if (!job) throw notFound('Job');
  const current =
    job.agentId !== null &&
    (claims.agentId === undefined ? await queueOf(job.agentId).isCurrentLease(job.id, claims.leaseId) : claims.agentId === job.agentId && claimedLive === true);
  if (!current && !options.allowStale)
    throw new AppError('CONFLICT', 'This lease of the job is no longer live: another holder has the job, or it ended', { details: { status: job.status } });
  return { ...job, leaseId: claims.leaseId, current };
}

const platformWord = /^[a-z0-9][a-z0-9_]{0,31}$/;

/** The executor's `?os=&arch=`, when it gave both well-formed. */
function executorPlatform(c: Context<AppEnv>): { os: string; arch: string } | null {
  const os = c.req.query('os');
  const arch = c.req.query('arch');
  return os && arch && platformWord.test(os) && platformWord.test(arch) ? { os, arch } : null;
}

agentApiRoutes.get(agentPaths.job(':jobId'), async (c) => {
  const job = await tokenJob(c);
  const config = c.get('config');
  const [row] = await db(c)
    .select({
      job: jobs,
      variables: pipelines.variables,
      sensitiveVariables: pipelines.sensitiveVariables,
      pipelineType: pipelines.type,
      environmentName: pipelines.environmentName,
      // Only the template's jwt blocks, not the whole compiled template.
      templateJwts: sql<TemplateJwt[] | null>`${pipelines.template}->'jwts'`,
      templatePluginRequirements: sql<TemplatePluginRequirement[] | null>`${pipelines.template}->'pluginRequirements'`,
      templatePlugins: sql<TemplatePlugin[] | null>`${pipelines.template}->'plugins'`,
      templateVolumes: sql<TemplateVolume[] | null>`${pipelines.template}->'volumes'`,
      organizationName: organizations.name,
      projectName: projects.name,
    })
    .from(jobs)
    .innerJoin(pipelines, eq(pipelines.id, jobs.pipelineId))
    .innerJoin(organizations, eq(organizations.id, jobs.organizationId))
    .innerJoin(projects, eq(projects.id, jobs.projectId))
    .where(eq(jobs.id, job.id));
  if (!row) throw notFound('Job');
  const actions = await openJson<JobAction[]>(config, row.job.inputs, jobInputsBinding(row.job.id));
  const sensitive = row.sensitiveVariables ? await openJson<Record<string, unknown>>(config, row.sensitiveVariables, variablesBinding(row.job.pipelineId)) : {};
  const sensitiveValues = Object.values(sensitive).flatMap(function leaves(value: unknown): string[] {
    if (value === null || value === undefined) return [];
    if (typeof value === 'object') return Object.values(value as Record<string, unknown>).flatMap(leaves);
    const text = String(value);
    return text.length > 0 ? [text] : [];
  });
  const jwts = await mintTemplateJwts(signingFor(config, databaseFor(config)).signer, row.templateJwts ?? [], {
    jobId: row.job.id,
    pipelineId: row.job.pipelineId,
    pipelineType: row.pipelineType,
    organizationName: row.organizationName,
    projectName: row.projectName,
    environmentName: row.environmentName,
    maxDurationSeconds: row.job.maxDurationSeconds,
  });
  const plugins = await resolvePluginRequirements(
    {
      db: db(c),
      store: objectStoreFor(c.env, config),
      apiUrl: config.server.apiUrl,
      organizationId: row.job.organizationId,
      organizationName: row.organizationName,
      platform: executorPlatform(c),
      variables: { ...row.variables, ...sensitive },
    },
    row.templatePluginRequirements ?? [],
    row.templatePlugins ?? [],
  );
  const volumes = await resolveJobVolumes(
    {
      db: db(c),
      config,
      organizationId: row.job.organizationId,
      projectId: row.job.projectId,
      nodeId: row.job.nodeId,
      variables: { ...row.variables, ...sensitive },
      sensitive,
    },
    row.templateVolumes ?? [],
  );
  const volumeTokens = volumes.flatMap((volume) => (volume.vcs ? [volume.vcs.token] : []));
  const inputs: JobInputs = {
    jobId: row.job.id,
    pipelineId: row.job.pipelineId,
    projectId: row.job.projectId,
    organizationId: row.job.organizationId,
    status: row.job.status,
    maxDurationSeconds: row.job.maxDurationSeconds,
    actions,
    variables: { ...row.variables, ...sensitive },
    volumes,
    jwts,
    sensitiveValues: [...new Set([...sensitiveValues, ...Object.values(jwts), ...volumeTokens])],
    ...(plugins.length > 0 ? { plugins } : {}),
  };
  return c.json(inputs);
});

/**
 * The job token's claims when it names the agent whose queue granted the lease: then the job's start
 * and end are the queue's business alone (its answer is the live lease's), recorded there and written
 * to Postgres and the engine behind the answer (src/durable/agent-queue-write-behind.ts `flush`).
 */
async function queuedTokenJob(c: Context<AppEnv>): Promise<{ jobId: string; leaseId: string; agentId: string } | null> {
  const authorization = c.req.header('authorization');
  if (!authorization?.startsWith('Bearer ')) throw unauthenticated('A job token is required: Authorization: Bearer <job token>');
  const claims = await verifyJobToken(c.get('config'), authorization.slice('Bearer '.length));
  if (claims.jobId !== jobParam(c)) throw forbidden('This job token is for another job');
  return claims.agentId === undefined ? null : { jobId: claims.jobId, leaseId: claims.leaseId, agentId: claims.agentId };
}

function answered(jobId: string, outcome: JobReportOutcome): JobStatusResponse {
  if (!outcome.ok) throw new AppError(outcome.code, outcome.message);
  return { jobId, status: outcome.status };
}

agentApiRoutes.post(agentPaths.running(':jobId'), async (c) => {
  const claims = await queuedTokenJob(c);
  if (claims) {
    const { stub } = agentQueue(queues(c), claims.agentId);
    return c.json(answered(claims.jobId, await stub.jobRunning(claims.jobId, claims.leaseId)) satisfies JobStatusResponse);
  }
  const job = await tokenJob(c);
  if (job.status === 'CANCELING' || job.status === 'CANCELED') throw new AppError('CONFLICT', 'The job was canceled', { details: { status: job.status } });
  const { view, owesAgents } = await reportJobRunning(db(c), trees(c), job.id, job.rootPipelineId);
  waitUntil(c, afterCommit(c, job.projectId, owesAgents));
  return c.json({ jobId: view.id, status: view.status } satisfies JobStatusResponse);
});

agentApiRoutes.get(agentPaths.cancellation(':jobId'), async (c) => {
  const job = await tokenJob(c, { allowStale: true });
  // A holder that lost its lease stops too: the job is someone else's now.
  const cancelRequested = !job.current || job.status === 'CANCELING' || job.status === 'CANCELED';
  return c.json({ cancelRequested } satisfies CancellationResponse);
});

agentApiRoutes.post(agentPaths.finish(':jobId'), async (c) => {
  const claims = await queuedTokenJob(c);
  if (claims) {
    const request = await body(c, finishRequest);
    checkFinishInput(request);
    const { stub } = agentQueue(queues(c), claims.agentId);
    return c.json(answered(claims.jobId, await stub.jobEnded(claims.jobId, claims.leaseId, request)) satisfies JobStatusResponse);
  }
  const job = await tokenJob(c);
  const request = await body(c, finishRequest);
  const database = db(c);
  let status = job.status;
  // A retried finish commits nothing: the dispatch runs anyway, as a repair.
  let owesAgents = true;
  // A retried finish (the first committed, its answer was lost) finds the job already ended: it is
  // answered the same, and the lease released.
  if (!['FINISHED', 'FAILED', 'CANCELED'].includes(job.status)) {
    // A job asked to stop ends CANCELED whatever the executor says, unless it FINISHED or FAILED first.
    const ended = await reportJobEnded(
      database,
      trees(c),
      job.id,
      { status: request.status, outputs: request.outputs, reason: request.reason },
      job.rootPipelineId,
    );
    status = ended.view.status;
    owesAgents = ended.owesAgents;
  }
  const { stub } = agentQueue(queues(c), job.agentId!);
  await stub.complete(job.id, job.leaseId);
  waitUntil(c, afterCommit(c, job.projectId, owesAgents));
  waitUntil(c, completeLog(c, job.id));
  return c.json({ jobId: job.id, status } satisfies JobStatusResponse);
});

/** The commit's events to the hub, and, when it queued or asked to stop a job, the dispatch (publish.ts `afterJobsChanged`). */
function afterCommit(c: Context<AppEnv>, projectId: string, owesAgents: boolean): Promise<void> {
  return afterJobsChanged({ db: db(c), hubs: c.env.PROJECT_EVENT_HUB, queues: queues(c) }, projectId, { dispatch: owesAgents }).catch((error: unknown) => {
    c.get('logger').warn('pipeline events not published or jobs not dispatched; the cron tasks will retry', { projectId, error });
  });
}

/** The job's log is final: its JobLog object stores it and reports its size (a failure is the log's own business). */
async function completeLog(c: Context<AppEnv>, jobId: string): Promise<void> {
  try {
    const summary = await c.env.JOB_LOG.get(c.env.JOB_LOG.idFromName(jobId)).complete();
    await db(c).update(jobs).set({ logSize: summary.size, logTruncated: summary.truncated }).where(eq(jobs.id, jobId));
  } catch (error) {
    c.get('logger').warn('job log not completed', { jobId, error });
  }
}
