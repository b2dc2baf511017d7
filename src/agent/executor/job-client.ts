// The executor's side of /agent/v1: every call carries the job token, which is good for this one job
// and lease only. Transient failures (network, 5xx) are retried with backoff; the log append is
// idempotent by offset, so a retried chunk is harmless. The job's start and end go through the
// agent's relay when there is one (report-relay.ts: the agent's queue socket), answered as the
// routes answer; through the routes when the relay cannot carry them.
import {
  agentPaths,
  cancellationResponse,
  type FinishRequest,
  jobInputs,
  type JobInputs,
  jobStatusResponse,
  logAppendResponse,
  logGap,
  registryPlatform,
} from '../../protocol/agent-v1';
import { backoffDelay, sleep } from '../backoff';
import { ApiError, call, callJson, isRetryable, joinUrl } from '../http';
import type { ReportRelay } from './report-relay';

export type LogAppendOutcome =
  | { kind: 'appended'; size: number; truncated: boolean }
  | { kind: 'gap'; size: number }
  /** 409 that is not a gap: the job finished, or a later lease of it writes the log. Nothing more will be taken. */
  | { kind: 'refused'; message: string };

export class JobClient {
  constructor(
    private readonly apiUrl: string,
    readonly jobId: string,
    private readonly token: string,
    /** Attempts for a call before its error is final. */
    private readonly attempts = 8,
    private readonly relay: ReportRelay | null = null,
  ) {}

  /** The report through the relay: its answer, or null when it was not carried (report through the routes). */
  private async relayed(report: FinishRequest | { status: 'RUNNING' }): Promise<{ ok: true } | { ok: false; conflict: boolean; message: string } | null> {
    if (!this.relay) return null;
    const answer = await this.relay(report);
    if (!answer) return null;
    return answer.ok ? { ok: true } : { ok: false, conflict: answer.code === 'CONFLICT', message: answer.message };
  }

  private get headers() {
    return { authorization: `Bearer ${this.token}` };
  }

  private url(path: string) {
    return joinUrl(this.apiUrl, path);
  }

  private async retrying<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await work();
      } catch (error) {
        if (!isRetryable(error) || attempt + 1 >= this.attempts) throw error;
        await sleep(backoffDelay(attempt, { baseMs: 200, capMs: 5_000 }));
      }
    }
  }

  /** The job's inputs, its plugins resolved for this executor's platform. */
  inputs(): Promise<JobInputs> {
    const { os, arch } = registryPlatform(process.platform, process.arch);
    const url = `${this.url(agentPaths.job(this.jobId))}?os=${encodeURIComponent(os)}&arch=${encodeURIComponent(arch)}`;
    return this.retrying(() => callJson(url, 'job inputs', jobInputs, { method: 'GET', headers: this.headers }));
  }

  /** Marks the job running; false when the job was canceled meanwhile (409). */
  async running(): Promise<boolean> {
    const relayed = await this.relayed({ status: 'RUNNING' });
    if (relayed?.ok) return true;
    if (relayed?.conflict) return false;
    if (relayed) throw new ApiError(400, relayed.message, 'mark running');
    try {
      await this.retrying(() =>
        callJson(this.url(agentPaths.running(this.jobId)), 'mark running', jobStatusResponse, { method: 'POST', headers: this.headers }),
      );
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) return false;
      throw error;
    }
  }

  async cancelRequested(): Promise<boolean> {
    const answer = await callJson(this.url(agentPaths.cancellation(this.jobId)), 'cancellation', cancellationResponse, {
      method: 'GET',
      headers: this.headers,
    });
    return answer.cancelRequested;
  }

  appendLog(offset: number, chunk: Uint8Array<ArrayBuffer>): Promise<LogAppendOutcome> {
    return this.retrying(async () => {
      const response = await fetch(`${this.url(agentPaths.logs(this.jobId))}?offset=${offset}`, {
        method: 'PUT',
        headers: { ...this.headers, 'content-type': 'application/octet-stream' },
        body: chunk,
      });
      const text = await response.text();
      if (response.status === 409) {
        const gap = logGap.safeParse(safeJson(text));
        if (gap.success) return { kind: 'gap', size: gap.data.size };
        const problem = safeJson(text) as { detail?: unknown } | null;
        return { kind: 'refused', message: typeof problem?.detail === 'string' ? problem.detail : text.slice(0, 500) };
      }
      if (!response.ok) throw new ApiError(response.status, text, 'log append');
      const appended = logAppendResponse.parse(safeJson(text));
      return { kind: 'appended', size: appended.size, truncated: appended.truncated };
    });
  }

  async finish(request: FinishRequest): Promise<unknown> {
    const relayed = await this.relayed(request);
    if (relayed?.ok) return;
    if (relayed) throw new ApiError(relayed.conflict ? 409 : 400, relayed.message, 'finish');
    return this.retrying(() => call(this.url(agentPaths.finish(this.jobId)), 'finish', { method: 'POST', headers: this.headers, body: request }));
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
