// A small stand-in for the Worker's side of /agent/v1, for testing the agent and the job executor
// while the real side is built: node:http plus a `ws` socket for the queue. Every request body and
// every answer is checked against the protocol's zod schemas (src/protocol/agent-v1.ts), so a drift
// from the contract on either side shows up as a recorded violation, which the tests assert is empty.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import type { z } from 'zod';
import {
  agentApiPrefix,
  claimRequest,
  claimResponse,
  finishRequest,
  type FinishRequest,
  handBackRequest,
  heartbeatRequest,
  heartbeatResponse,
  type JobAction,
  jobInputs,
  type JobInputs,
  type JobLease,
  type JobReport,
  openSessionRequest,
  openSessionResponse,
  type OpenSessionResponse,
  queueClientMessage,
  queueServerMessage,
  type ReportAnswer,
  sessionErrorRequest,
} from '../../src/protocol/agent-v1';
import { freePort } from '../setup/free-port';
import { checkFinishInput } from '../../src/domain/jobs/service';

interface ServerJob {
  inputs: JobInputs;
  status: 'QUEUED' | 'PENDING' | 'RUNNING' | 'FINISHED' | 'FAILED' | 'CANCELED';
  lease: JobLease | null;
  sessionId: string | null;
  log: Buffer;
  logPuts: { offset: number; length: number; status: number }[];
  cancelRequested: boolean;
  finish: FinishRequest | null;
  handedBack: number;
  leases: number;
}

interface Session {
  id: string;
  agent: string;
  heartbeats: z.infer<typeof heartbeatRequest>[];
  errors: string[];
  closed: boolean;
  sockets: Set<WebSocket>;
}

interface ServerOptions {
  /** The agent credential, as the agent sends it: `Bearer <token>` or an X-API-Key value. */
  credential: { bearer: string } | { apiKey: string };
  session?: Partial<Omit<OpenSessionResponse, 'sessionId' | 'agentId'>>;
  /** false: the queue socket is refused (404), as an older server would, so the agent long-polls. */
  webSocket?: boolean;
}

export type AgentProtocolServer = Awaited<ReturnType<typeof startAgentProtocolServer>>;

export async function startAgentProtocolServer(options: ServerOptions) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const violations: string[] = [];
  const sessions = new Map<string, Session>();
  const jobs = new Map<string, ServerJob>();
  const queue: string[] = [];
  const waiters = new Set<() => void>();
  /** Free capacity each socket announced with `ready`. */
  const socketCapacity = new Map<WebSocket, number>();
  let webSocketEnabled = options.webSocket ?? true;
  let socketConnects = 0;
  let claims = 0;
  /** Every capacity the agents announced (`ready`, or with a `report`), in order. */
  const readyMessages: number[] = [];
  /** The capacities announced by `ready` frames alone, in order. */
  const readyFrames: number[] = [];
  /** Job reports received on queue sockets, and the statuses reported through the job routes, in order. */
  const socketReports: JobReport[] = [];
  /** While set, report frames are swallowed unapplied and unanswered (recorded here), as by a socket gone half-open. */
  let reportsUnanswered = false;
  const unansweredReports: JobReport[] = [];
  /** While set, report frames are answered unapplied with answers naming other jobs (recorded here). */
  let reportsMisanswered = false;
  const misansweredReports: JobReport[] = [];
  const httpReports: string[] = [];
  /** Lease ids the next heartbeats report as lost. */
  const lostLeases = new Set<string>();
  const sessionSettings = { heartbeatIntervalSeconds: 1, leaseSeconds: 30, maxClaimWaitSeconds: 2, concurrencyLimit: 2, ...options.session };

  function checked<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> | null {
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    violations.push(`${what}: ${parsed.error.message}`);
    return null;
  }

  function agentAuthorized(req: IncomingMessage): boolean {
    if ('bearer' in options.credential) return req.headers.authorization === `Bearer ${options.credential.bearer}`;
    return req.headers['x-api-key'] === options.credential.apiKey;
  }

  function lease(jobId: string, sessionId: string): JobLease {
    const job = jobs.get(jobId)!;
    const leased: JobLease = {
      jobId,
      leaseId: randomUUID(),
      token: `job-token-${randomUUID()}`,
      maxDurationSeconds: job.inputs.maxDurationSeconds,
      leaseExpiresAt: new Date(Date.now() + sessionSettings.leaseSeconds * 1000).toISOString(),
    };
    job.lease = leased;
    job.sessionId = sessionId;
    job.status = 'PENDING';
    job.leases++;
    return leased;
  }

  function take(capacity: number, sessionId: string): JobLease[] {
    const taken: JobLease[] = [];
    while (taken.length < capacity && queue.length) taken.push(lease(queue.shift()!, sessionId));
    return taken;
  }

  function send(socket: WebSocket, message: z.infer<typeof queueServerMessage>) {
    checked(queueServerMessage, message, 'server queue message');
    socket.send(JSON.stringify(message));
  }

  /** Pushes queued jobs to sockets with free capacity, then wakes long polls. */
  function dispatch() {
    for (const session of sessions.values()) {
      for (const socket of session.sockets) {
        const capacity = socketCapacity.get(socket) ?? 0;
        if (capacity <= 0 || !queue.length || socket.readyState !== socket.OPEN) continue;
        const taken = take(capacity, session.id);
        socketCapacity.set(socket, capacity - taken.length);
        send(socket, { type: 'jobs', jobs: taken });
      }
    }
    for (const wake of [...waiters]) wake();
  }

  async function body(req: IncomingMessage): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const part of req) parts.push(part as Buffer);
    return Buffer.concat(parts);
  }

  function json(res: ServerResponse, status: number, value?: unknown) {
    res.statusCode = status;
    if (value === undefined) return res.end();
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(value));
  }

  async function readJson<T extends z.ZodType>(req: IncomingMessage, schema: T, what: string): Promise<z.infer<T> | null> {
    const raw = (await body(req)).toString('utf8');
    try {
      return checked(schema, JSON.parse(raw), what);
    } catch {
      violations.push(`${what}: body is not JSON: ${raw.slice(0, 200)}`);
      return null;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const requestUrl = new URL(req.url ?? '/', url);
    const path = requestUrl.pathname;
    if (!path.startsWith(agentApiPrefix)) return json(res, 404, { error: 'not found' });
    const parts = path.slice(agentApiPrefix.length).split('/').filter(Boolean);

    if (parts[0] === 'sessions') {
      if (!agentAuthorized(req)) return json(res, 401, { error: 'unauthenticated' });
      if (parts.length === 1 && req.method === 'POST') {
        const request = await readJson(req, openSessionRequest, 'open session');
        if (!request) return json(res, 400, { error: 'bad request' });
        const session: Session = { id: randomUUID(), agent: request.agent, heartbeats: [], errors: [], closed: false, sockets: new Set() };
        sessions.set(session.id, session);
        const answer = { sessionId: session.id, agentId: randomUUID(), ...sessionSettings };
        checked(openSessionResponse, answer, 'open session answer');
        return json(res, 201, answer);
      }
      const session = sessions.get(parts[1] ?? '');
      if (!session || session.closed) return json(res, 404, { error: 'no such session' });
      const action = parts[2];
      if (action === undefined && req.method === 'DELETE') {
        session.closed = true;
        for (const job of jobs.values()) if (job.sessionId === session.id && job.status === 'PENDING') requeue(job);
        return json(res, 204);
      }
      if (action === 'heartbeat' && req.method === 'POST') {
        const request = await readJson(req, heartbeatRequest, 'heartbeat');
        if (!request) return json(res, 400, { error: 'bad request' });
        session.heartbeats.push(request);
        const held = request.leases.map((ref) => ({ ref, job: jobs.get(ref.jobId) }));
        const lost = held.filter(({ ref, job }) => !job || job.lease?.leaseId !== ref.leaseId || lostLeases.has(ref.leaseId)).map(({ ref }) => ref.jobId);
        const cancel = held.filter(({ job }) => job?.cancelRequested).map(({ ref }) => ref.jobId);
        const answer = { cancel, lost };
        checked(heartbeatResponse, answer, 'heartbeat answer');
        return json(res, 200, answer);
      }
      if (action === 'errors' && req.method === 'POST') {
        const request = await readJson(req, sessionErrorRequest, 'session error');
        if (!request) return json(res, 400, { error: 'bad request' });
        session.errors.push(request.message);
        return json(res, 204);
      }
      if (action === 'claim' && req.method === 'POST') {
        const request = await readJson(req, claimRequest, 'claim');
        if (!request) return json(res, 400, { error: 'bad request' });
        claims++;
        // The client went away while the claim was held (not `req.destroyed`: a fully read request is destroyed too).
        let gone = false;
        res.once('close', () => {
          gone = !res.writableFinished;
        });
        const deadline = Date.now() + Math.min(request.waitSeconds, sessionSettings.maxClaimWaitSeconds) * 1000;
        let taken = take(request.capacity, session.id);
        while (!taken.length && Date.now() < deadline && !gone) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(wake, Math.max(0, deadline - Date.now()));
            function wake() {
              clearTimeout(timer);
              waiters.delete(wake);
              resolve();
            }
            waiters.add(wake);
          });
          taken = take(request.capacity, session.id);
        }
        if (gone) for (const leased of taken) requeue(jobs.get(leased.jobId)!);
        const answer = { jobs: taken };
        checked(claimResponse, answer, 'claim answer');
        return json(res, 200, answer);
      }
      if (action === 'hand-back' && req.method === 'POST') {
        const request = await readJson(req, handBackRequest, 'hand back');
        if (!request) return json(res, 400, { error: 'bad request' });
        for (const ref of request.leases) {
          const job = jobs.get(ref.jobId);
          if (job?.lease?.leaseId === ref.leaseId && job.status === 'PENDING') {
            job.handedBack++;
            requeue(job);
          }
        }
        dispatch();
        return json(res, 204);
      }
      return json(res, 404, { error: 'no such route' });
    }

    if (parts[0] === 'jobs' && parts[1]) {
      const job = jobs.get(parts[1]);
      if (!job) return json(res, 404, { error: 'no such job' });
      if (!job.lease || req.headers.authorization !== `Bearer ${job.lease.token}`) return json(res, 401, { error: 'bad job token' });
      const action = parts[2];
      if (action === undefined && req.method === 'GET') {
        checked(jobInputs, job.inputs, 'job inputs answer');
        return json(res, 200, job.inputs);
      }
      if (action === 'running' && req.method === 'POST') {
        httpReports.push('RUNNING');
        const outcome = markRunning(job);
        return outcome.ok ? json(res, 200, { jobId: job.inputs.jobId, status: outcome.status }) : json(res, 409, { error: outcome.message });
      }
      if (action === 'logs' && req.method === 'PUT') {
        const offset = Number(requestUrl.searchParams.get('offset'));
        const chunk = await body(req);
        if (!Number.isInteger(offset) || offset < 0) {
          violations.push(`log append without a valid offset: ${requestUrl.search}`);
          return json(res, 400, { error: 'offset' });
        }
        if (offset > job.log.length) {
          job.logPuts.push({ offset, length: chunk.length, status: 409 });
          return json(res, 409, { error: 'gap', size: job.log.length });
        }
        const fresh = chunk.subarray(job.log.length - offset);
        job.log = Buffer.concat([job.log, fresh]);
        job.logPuts.push({ offset, length: chunk.length, status: 200 });
        return json(res, 200, { size: job.log.length, truncated: false });
      }
      if (action === 'cancellation' && req.method === 'GET') return json(res, 200, { cancelRequested: job.cancelRequested });
      if (action === 'finish' && req.method === 'POST') {
        const request = await readJson(req, finishRequest, 'finish');
        if (!request) return json(res, 400, { error: 'bad request' });
        // The API's own check of the outputs (their size, text jsonb can store).
        try {
          checkFinishInput(request);
        } catch (error) {
          return json(res, 400, { error: (error as Error).message });
        }
        httpReports.push(request.status);
        const outcome = markEnded(job, request);
        return outcome.ok ? json(res, 200, { jobId: job.inputs.jobId, status: outcome.status }) : json(res, 409, { error: outcome.message });
      }
    }
    return json(res, 404, { error: 'no such route' });
  }

  type Outcome = { ok: true; status: string } | { ok: false; message: string };

  /** A job's start, by either transport. */
  function markRunning(job: ServerJob): Outcome {
    if (job.cancelRequested) {
      job.status = 'CANCELED';
      return { ok: false, message: 'the job was canceled' };
    }
    job.status = 'RUNNING';
    return { ok: true, status: job.status };
  }

  /** A job's end, by either transport. */
  function markEnded(job: ServerJob, request: FinishRequest): Outcome {
    if (job.finish) return { ok: false, message: 'already finished' };
    job.finish = { status: request.status, ...(request.outputs ? { outputs: request.outputs } : {}), ...(request.reason ? { reason: request.reason } : {}) };
    job.status = request.status;
    return { ok: true, status: job.status };
  }

  function requeue(job: ServerJob) {
    job.lease = null;
    job.sessionId = null;
    job.status = 'QUEUED';
    queue.push(job.inputs.jobId);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      violations.push(`server error: ${error.message}`);
      if (!res.headersSent) json(res, 500, { error: error.message });
    });
  });
  // Compression accepted when offered, as workerd accepts it: the agent must not offer it.
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: true });
  server.on('upgrade', (req, socket, head) => {
    const match = /^\/agent\/v1\/sessions\/([^/]+)\/queue$/.exec(new URL(req.url ?? '/', url).pathname);
    const session = match ? sessions.get(match[1]!) : undefined;
    if (!webSocketEnabled || !session || !agentAuthorized(req)) {
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    if (req.headers['sec-websocket-extensions'] !== undefined) violations.push(`the agent offered ${req.headers['sec-websocket-extensions']}`);
    wss.handleUpgrade(req, socket, head, (ws) => {
      socketConnects++;
      session.sockets.add(ws);
      ws.on('message', (data) => {
        let message: unknown;
        try {
          message = JSON.parse(String(data));
        } catch {
          violations.push(`queue message is not JSON: ${String(data).slice(0, 200)}`);
          return;
        }
        const parsed = checked(queueClientMessage, message, 'client queue message');
        if (!parsed) return;
        if (parsed.type === 'report' && reportsUnanswered) {
          unansweredReports.push(...parsed.reports);
          return;
        }
        if (parsed.type === 'report' && reportsMisanswered) {
          // Answers that name other jobs, as a queue whose answers had shifted onto the wrong frame.
          misansweredReports.push(...parsed.reports);
          send(ws, {
            type: 'reported',
            answers: parsed.reports.map(() => ({ jobId: crypto.randomUUID(), ok: true, status: 'RUNNING' }) satisfies ReportAnswer),
          });
          return;
        }
        if (parsed.type === 'report') {
          const answers = parsed.reports.map((report): ReportAnswer => {
            socketReports.push(report);
            const job = jobs.get(report.jobId);
            // The socket speaks for its session's leases only (as the real queue).
            if (!job || job.lease?.leaseId !== report.leaseId || job.sessionId !== session.id)
              return { jobId: report.jobId, ok: false, code: 'CONFLICT', message: "not this session's live lease" };
            const outcome = report.status === 'RUNNING' ? markRunning(job) : markEnded(job, report);
            return outcome.ok
              ? { jobId: report.jobId, ok: true, status: outcome.status }
              : { jobId: report.jobId, ok: false, code: 'CONFLICT', message: outcome.message };
          });
          send(ws, { type: 'reported', answers });
        }
        const capacity = parsed.capacity;
        if (capacity === undefined) return;
        readyMessages.push(capacity);
        if (parsed.type === 'ready') readyFrames.push(capacity);
        socketCapacity.set(ws, capacity);
        dispatch();
      });
      ws.on('close', () => {
        session.sockets.delete(ws);
        socketCapacity.delete(ws);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));

  return {
    url,
    violations,
    sessions,
    jobs,
    readyMessages,
    readyFrames,
    socketReports,
    httpReports,
    get socketConnects() {
      return socketConnects;
    },
    get claims() {
      return claims;
    },
    /** Queues a job; the actions and the rest of its inputs as given. */
    enqueue(actions: Partial<JobAction>[], extra: Partial<JobInputs> = {}): string {
      const jobId = randomUUID();
      const inputs: JobInputs = {
        jobId,
        pipelineId: randomUUID(),
        projectId: randomUUID(),
        organizationId: randomUUID(),
        status: 'PENDING',
        maxDurationSeconds: 600,
        actions: actions.map((action) => ({ alias: null, name: 'exec_command', pluginName: 'exec', actionName: 'command', inputs: {}, ...action })),
        variables: {},
        volumes: [],
        jwts: {},
        sensitiveValues: [],
        ...extra,
      };
      jobs.set(jobId, {
        inputs,
        status: 'QUEUED',
        lease: null,
        sessionId: null,
        log: Buffer.alloc(0),
        logPuts: [],
        cancelRequested: false,
        finish: null,
        handedBack: 0,
        leases: 0,
      });
      queue.push(jobId);
      dispatch();
      return jobId;
    },
    /** Leases a queued job directly (for executor tests that need no agent). */
    leaseDirectly(jobId: string): JobLease {
      queue.splice(queue.indexOf(jobId), 1);
      return lease(jobId, 'direct');
    },
    /** Pushes a job on every open socket whatever capacity it announced (a race the agent must survive). */
    pushRegardless(jobId: string) {
      queue.splice(queue.indexOf(jobId), 1);
      for (const session of sessions.values()) for (const socket of session.sockets) send(socket, { type: 'jobs', jobs: [lease(jobId, session.id)] });
    },
    requestCancel(jobId: string) {
      jobs.get(jobId)!.cancelRequested = true;
    },
    /** The server forgets its copy of the job's log past `size` (as a reset store would). */
    truncateLog(jobId: string, size: number) {
      const job = jobs.get(jobId)!;
      job.log = job.log.subarray(0, size);
    },
    loseLease(leaseId: string) {
      lostLeases.add(leaseId);
    },
    setWebSocket(enabled: boolean) {
      webSocketEnabled = enabled;
    },
    /** Drops every open queue socket, as a deploy restarting the Durable Object does. */
    unansweredReports,
    misansweredReports,
    /** Report frames from now on are answered for other jobs, unapplied (true), or handled again (false). */
    misanswerReports(on: boolean) {
      reportsMisanswered = on;
    },
    /** Report frames from now on go unapplied and unanswered (true), or are handled again (false). */
    leaveReportsUnanswered(on: boolean) {
      reportsUnanswered = on;
    },
    dropSockets() {
      for (const session of sessions.values()) {
        for (const socket of session.sockets) socket.terminate();
        // Gone now, not when their close events come: a job queued meanwhile waits for a new socket.
        session.sockets.clear();
      }
    },
    socketCount(): number {
      return [...sessions.values()].reduce((count, session) => count + session.sockets.size, 0);
    },
    async stop() {
      for (const client of wss.clients) client.terminate();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Polls `predicate` every 25 ms until it holds, failing after `timeoutMs` with `what`. */
export async function eventually<T>(predicate: () => T | undefined | null | false, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
