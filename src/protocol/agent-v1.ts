// The agent protocol, /agent/v1, typed once and shared by the Worker (src/agent-api/) and the Node
// agent and job executor (src/agent/). Every body is JSON checked by these schemas on both ends,
// except log chunks, which are raw bytes. Two credentials speak it:
// - the agent process: its service account (a Phobos access token from token exchange, or an API
//   key in X-API-Key), or an internal agent's credential (src/auth/internal-agent-credentials.ts);
// - the job executor: the job token a claim returned, good for that one job and lease only.
// A job's start and end may instead ride the agent's queue socket (`report`), which speaks for the
// leases of its own session only: the job token's authority, without an HTTP request per report.
import { z } from 'zod';
import { multilineText, text } from '../domain/text';

export const agentApiPrefix = '/agent/v1';

/** Every path of the protocol, for both ends. */
export const agentPaths = {
  /** POST OpenSessionRequest → OpenSessionResponse (agent credential). */
  sessions: `${agentApiPrefix}/sessions`,
  /** DELETE: graceful shutdown; jobs the session holds but has not started go back to the queue. */
  session: (sessionId: string) => `${agentApiPrefix}/sessions/${sessionId}`,
  /** POST HeartbeatRequest → HeartbeatResponse: keeps the session active and renews its leases. */
  heartbeat: (sessionId: string) => `${agentApiPrefix}/sessions/${sessionId}/heartbeat`,
  /** POST SessionErrorRequest → 204: appends to the session's error log. */
  errors: (sessionId: string) => `${agentApiPrefix}/sessions/${sessionId}/errors`,
  /** POST ClaimRequest → ClaimResponse: the HTTP long poll (held until a job arrives or waitSeconds pass). */
  claim: (sessionId: string) => `${agentApiPrefix}/sessions/${sessionId}/claim`,
  /** GET with Upgrade: websocket: the hibernatable socket the queue pushes jobs on (QueueClientMessage / QueueServerMessage). */
  queue: (sessionId: string) => `${agentApiPrefix}/sessions/${sessionId}/queue`,
  /** POST HandBackRequest → 204 (agent credential): a leased job the agent will not run goes back to the queue. */
  handBack: (sessionId: string) => `${agentApiPrefix}/sessions/${sessionId}/hand-back`,
  /** GET → JobInputs (job token); `?os=&arch=` (Go's names) resolves the template's plugins for that platform. */
  job: (jobId: string) => `${agentApiPrefix}/jobs/${jobId}`,
  /** POST → JobStatusResponse (job token): PENDING → RUNNING; 409 when the job was canceled meanwhile. */
  running: (jobId: string) => `${agentApiPrefix}/jobs/${jobId}/running`,
  /**
   * PUT ?offset=<bytes> with the chunk as the body (job token) → LogAppendResponse; 409 LogGap when offset > size.
   * Offsets count from the start of this lease's part of the job's log (a job leased again logs each
   * attempt after the last); 409 CONFLICT (not a LogGap) once the job finished or a later lease writes the log.
   */
  logs: (jobId: string) => `${agentApiPrefix}/jobs/${jobId}/logs`,
  /** GET → CancellationResponse (job token): whether a cancel was requested (the executor asks every ~2 s). */
  cancellation: (jobId: string) => `${agentApiPrefix}/jobs/${jobId}/cancellation`,
  /** POST FinishRequest → JobStatusResponse (job token): the job's end, outputs with it. */
  finish: (jobId: string) => `${agentApiPrefix}/jobs/${jobId}/finish`,
} as const;

/** Environment the dispatchers give the job executor (as Phobos's job-executor image reads it). */
export const executorEnvironment = {
  jobId: 'JOB_ID',
  jobToken: 'JOB_TOKEN',
  apiUrl: 'API_URL',
  /** Bytes: the dispatcher data's memory_limit, when set. The executor does not read it; docker and kubernetes set the container's limit. */
  memoryLimit: 'MEMORY_LIMIT',
} as const;

const id = z.string().uuid();

export const openSessionRequest = z.object({
  /** The agent's id, or its path: `<name>` for a shared agent, `<organization>/<name>` for an organization's. */
  agent: text().min(1).max(200),
  /** Free text shown with the session (host name, version). */
  description: text().max(200).optional(),
});
export type OpenSessionRequest = z.infer<typeof openSessionRequest>;

export const openSessionResponse = z.object({
  sessionId: id,
  agentId: id,
  heartbeatIntervalSeconds: z.number().int().positive(),
  /** A lease not renewed within this many seconds expires. */
  leaseSeconds: z.number().int().positive(),
  /** Upper bound of ClaimRequest.waitSeconds. */
  maxClaimWaitSeconds: z.number().int().positive(),
  /** Jobs one session may hold at once (the agent's concurrency limit). */
  concurrencyLimit: z.number().int().positive(),
});
export type OpenSessionResponse = z.infer<typeof openSessionResponse>;

export const leaseRef = z.object({ jobId: id, leaseId: id });
export type LeaseRef = z.infer<typeof leaseRef>;

export const heartbeatRequest = z.object({ leases: z.array(leaseRef).max(1000) });
export type HeartbeatRequest = z.infer<typeof heartbeatRequest>;

export const heartbeatResponse = z.object({
  /** Held jobs whose cancellation was requested: stop them (the executor also sees it). */
  cancel: z.array(id),
  /** Leases this session no longer holds (expired, taken over): stop those jobs, report nothing. */
  lost: z.array(id),
});
export type HeartbeatResponse = z.infer<typeof heartbeatResponse>;

/** A session error's longest message, in UTF-16 code units. */
const maxSessionErrorLength = 4096;

export const sessionErrorRequest = z.object({ message: multilineText().min(1).max(maxSessionErrorLength) });

/**
 * Any text as a session error message the API takes (client text: no control characters but tab
 * and line breaks, no lone surrogates): an error may quote a program's output, escape sequences
 * and all, which become U+FFFD; cut at the limit without splitting a surrogate pair.
 */
export function sessionErrorMessage(message: string): string {
  const cleaned = message.replace(/(?![\t\n\r])\p{Cc}|\p{Surrogate}/gu, '\ufffd');
  const cut =
    cleaned.length > maxSessionErrorLength
      ? cleaned.slice(0, maxSessionErrorLength - (/[\ud800-\udbff]/.test(cleaned[maxSessionErrorLength - 1]!) ? 1 : 0))
      : cleaned;
  return cut === '' ? '(no message)' : cut;
}
export type SessionErrorRequest = z.infer<typeof sessionErrorRequest>;

export const claimRequest = z.object({
  /** How many jobs the agent can start now (its free capacity). */
  capacity: z.number().int().min(1).max(1000),
  /** How long to hold the request when no job is queued (0: answer at once). */
  waitSeconds: z.number().int().min(0).max(25),
});
export type ClaimRequest = z.infer<typeof claimRequest>;

/** One job leased to the session: what a dispatcher needs to start an executor. */
export const jobLease = z.object({
  jobId: id,
  leaseId: id,
  /** The job token: a JWT for this job and lease only (expires after maxDurationSeconds + 1 h). */
  token: z.string().min(1),
  maxDurationSeconds: z.number().int().positive(),
  leaseExpiresAt: z.string().datetime(),
});
export type JobLease = z.infer<typeof jobLease>;

export const claimResponse = z.object({ jobs: z.array(jobLease) });
export type ClaimResponse = z.infer<typeof claimResponse>;

export const handBackRequest = z.object({ leases: z.array(leaseRef).min(1).max(1000) });
export type HandBackRequest = z.infer<typeof handBackRequest>;

/** A job's outputs together, as UTF-8 JSON, at most (the queue's storage caps a value at 2 MB). */
export const maxJobOutputsBytes = 1024 * 1024;

export const finishRequest = z.object({
  status: z.enum(['FINISHED', 'FAILED', 'CANCELED']),
  /** Outputs by action alias (or name when it has no alias). */
  outputs: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
  /** Why it failed (shown with the job): a non-zero exit, the maximum duration, a dispatcher error. */
  reason: z.string().max(4096).optional(),
});
export type FinishRequest = z.infer<typeof finishRequest>;

const freeCapacity = z.number().int().min(0).max(1000);

/**
 * A job's start or end reported on the queue socket by the session holding its lease: the same as
 * POST running (`RUNNING`) and POST finish (the other statuses, with FinishRequest's fields and limits).
 */
export const jobReport = z.discriminatedUnion('status', [leaseRef.extend({ status: z.literal('RUNNING') }), leaseRef.extend(finishRequest.shape)]);
export type JobReport = z.infer<typeof jobReport>;

/** Reports one `report` frame may carry (a session holds at most 1000 jobs). */
export const maxReportsPerFrame = 1000;

const readyMessage = z.object({ type: z.literal('ready'), capacity: freeCapacity });
const reportMessage = z.object({
  type: z.literal('report'),
  reports: z.array(jobReport).min(1).max(maxReportsPerFrame),
  /** The free capacity after these reports (a finish and the capacity it frees in one frame): as `ready`. */
  capacity: freeCapacity.optional(),
});

/** Agent → queue on the WebSocket. */
export const queueClientMessage = z.discriminatedUnion('type', [
  /** Free capacity changed (sent on connect and after each job ends): the queue may push that many. */
  readyMessage,
  /** Job starts and ends, answered by one `reported` in the order the frames came. */
  reportMessage,
]);
export type QueueClientMessage = z.infer<typeof queueClientMessage>;

/**
 * The queue's reading of a client frame: the envelope is checked here (a frame that fails it is not
 * JSON, not a known type, or has a bad `capacity`: the socket is closed with 1003 and the field in
 * the reason), each report apart (`jobReport`), so one bad report is answered BAD_REQUEST alone.
 */
export const queueClientFrame = z.discriminatedUnion('type', [
  readyMessage,
  reportMessage.extend({ reports: z.array(z.unknown()).min(1).max(maxReportsPerFrame) }),
]);

/** One report's answer: as the job routes answer (their JobStatusResponse, or a 409 / 400 with its message). */
export const reportAnswer = z.discriminatedUnion('ok', [
  z.object({ jobId: id, ok: z.literal(true), status: z.string() }),
  /** `jobId` is null when the report did not carry a readable one. */
  z.object({ jobId: z.string().nullable(), ok: z.literal(false), code: z.enum(['CONFLICT', 'BAD_REQUEST']), message: z.string() }),
]);
export type ReportAnswer = z.infer<typeof reportAnswer>;

/** Queue → agent on the WebSocket. */
export const queueServerMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('jobs'), jobs: z.array(jobLease) }),
  z.object({ type: z.literal('cancel'), jobIds: z.array(id) }),
  /** A `report` frame's answers, one per report in its order. */
  z.object({ type: z.literal('reported'), answers: z.array(reportAnswer) }),
]);
export type QueueServerMessage = z.infer<typeof queueServerMessage>;

export const jobAction = z.object({
  alias: z.string().nullable(),
  name: z.string(),
  /** `exec` for the built-in plugin. */
  pluginName: z.string(),
  /** `command` for exec_command. */
  actionName: z.string(),
  /** Evaluated inputs (exec_command: command, shell, env, working_dir, volumes). */
  inputs: z.record(z.string(), z.unknown()),
});
export type JobAction = z.infer<typeof jobAction>;

/**
 * A `volume` the task mounts (`mount_point { volume = "<name>" }`), resolved for the executor: a
 * `vcs` volume is the repository `repositoryPath` at `ref` (null: its default branch), downloaded as
 * an archive through the provider's REST API (`apiUrl`, as the provider stores it: GitHub's
 * https://api.github.com or <host>/api/v3, GitLab's <host>/api/v4) with `token`, which is a secret
 * (it is in sensitiveValues too). The executor extracts it into `<workspace>/volumes/<name>` before
 * any action runs. `problem` says why it could not be resolved (no such provider in the job's
 * project or organization, an expression that failed, a provider not connected): `vcs` is then null
 * and the job fails with it before any action runs.
 */
export const jobVolume = z.object({
  name: z.string(),
  type: z.literal('vcs'),
  /** The mount_point's `path`: where the files also appear, relative to the workspace (null: not given). */
  mountPath: z.string().nullable(),
  vcs: z
    .object({
      provider: z.enum(['github', 'gitlab']),
      apiUrl: z.string(),
      /** `owner/repository` on GitHub, `group/project` (groups may nest) on GitLab. */
      repositoryPath: z.string(),
      ref: z.string().nullable(),
      token: z.string(),
    })
    .nullable(),
  problem: z.string().nullable(),
});
export type JobVolume = z.infer<typeof jobVolume>;

/**
 * A plugin of the template's `plugin_requirements`, resolved from the registry for the executor's
 * platform: the binary to download (a short-lived URL), its SHA-256 to verify, and the template's
 * `plugin "<name>" { ... }` block evaluated as its configuration. `problem` says why it could not be
 * resolved (no such plugin or version, no binary for this platform): a job using it fails with it.
 */
export const jobPlugin = z.object({
  /** The name actions use: `<name>_<action>`. */
  name: z.string(),
  source: z.string(),
  version: z.string().nullable(),
  sha256: z.string().nullable(),
  sizeBytes: z.number().int().nullable(),
  /** The publisher's detached signature, as published (not verified by the executor). */
  signature: z.string().nullable(),
  url: z.string().nullable(),
  config: z.record(z.string(), z.unknown()),
  problem: z.string().nullable(),
});
export type JobPlugin = z.infer<typeof jobPlugin>;

/** The executor's platform as the registry names platforms (Go's GOOS and GOARCH). */
export function registryPlatform(platform: string, arch: string): { os: string; arch: string } {
  const os = platform === 'win32' ? 'windows' : platform;
  const names: Record<string, string> = { x64: 'amd64', ia32: '386', arm: 'arm', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return { os, arch: names[arch] ?? arch };
}

export const jobInputs = z.object({
  jobId: id,
  pipelineId: id,
  projectId: id,
  organizationId: id,
  status: z.string(),
  maxDurationSeconds: z.number().int().positive(),
  actions: z.array(jobAction),
  /** The pipeline's variables, resolved (sensitive ones included: mask them, see sensitiveValues). */
  variables: z.record(z.string(), z.unknown()),
  /** The volumes the task mounts, in mount_point order (one per volume). */
  volumes: z.array(jobVolume),
  /** Minted `jwt` blocks of the template: name → token. */
  jwts: z.record(z.string(), z.string()),
  /** Values the executor must mask in the log (sensitive variables, minted tokens). */
  sensitiveValues: z.array(z.string()),
  /** The template's external plugins (plugin_requirements), resolved for the platform the executor named. */
  plugins: z.array(jobPlugin).optional(),
});
export type JobInputs = z.infer<typeof jobInputs>;

export const jobStatusResponse = z.object({ jobId: id, status: z.string() });
export type JobStatusResponse = z.infer<typeof jobStatusResponse>;

export const logAppendResponse = z.object({
  /** The size of this lease's part of the log after the append (a retried chunk leaves it unchanged). */
  size: z.number().int().nonnegative(),
  /** The log reached its cap: later output is dropped. */
  truncated: z.boolean(),
});
export type LogAppendResponse = z.infer<typeof logAppendResponse>;

/** 409 body of a log append whose offset is past the end: resend from `size`. */
export const logGap = z.object({ error: z.string(), size: z.number().int().nonnegative() });

export const cancellationResponse = z.object({ cancelRequested: z.boolean() });
export type CancellationResponse = z.infer<typeof cancellationResponse>;

/**
 * What `jwt.<name>` evaluates to in a task's inputs: the engine evaluates inputs when it queues the
 * job, but a token is minted only when the job starts (its lifetime counts from then, and it is never
 * stored). The executor puts each minted token (JobInputs.jwts) in place of its marker before running
 * the action, and masks it in the log.
 */
export const jwtPlaceholder = (name: string) => `__PHOBOS_JWT_${name}__`;

/** Every string in `value` with each `jwt.<name>` marker replaced by its token. */
export function withJwts(value: unknown, jwts: Record<string, string>): unknown {
  if (typeof value === 'string') {
    return value.replace(/__PHOBOS_JWT_([A-Za-z0-9_-]+)__/g, (marker, name: string) => jwts[name] ?? marker);
  }
  if (Array.isArray(value)) return value.map((item) => withJwts(item, jwts));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, withJwts(item, jwts)]));
  }
  return value;
}
