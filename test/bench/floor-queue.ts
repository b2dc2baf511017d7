// A bench-only Durable Object: the least an agent queue can be in this runtime. It speaks the queue
// socket's messages (src/protocol/agent-v1.ts) to one agent over a hibernatable WebSocket, and does
// nothing else: no storage, no database, no job tokens, no write-behind. The jobs benchmark
// (agent-jobs.ts) drives it exactly as it drives the real AgentQueue, so the figures it gives are
// the runtime's own floor for the same work:
// - pickup: a Worker request commits one row in Postgres, then calls `push`, which sends the job on
//   the socket (the real path: the engine's commit, then the dispatch's enqueue);
// - throughput: `fill` queues synthetic jobs; `ready` and `report` frames are answered as the real
//   queue answers them (every report accepted, the free capacity taken up with jobs at once).
import { DurableObject } from 'cloudflare:workers';
import type { JobLease, QueueClientMessage, QueueServerMessage, ReportAnswer } from '../../src/protocol/agent-v1';

export class FloorQueue extends DurableObject {
  private backlog = 0;
  /** Jobs pushed whose end was not reported yet. */
  private held = 0;
  private capacity = 0;
  /** The session's concurrency limit: what the benchmark's agent runs at a time. */
  private limit = 1;

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') return new Response('Expected a WebSocket upgrade', { status: 426 });
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    this.held = 0;
    this.capacity = 0;
    return new Response(null, { status: 101, webSocket: client });
  }

  /** One job, committed by the caller, to the socket at once. */
  async push(jobId: string): Promise<void> {
    this.send({ type: 'jobs', jobs: [leaseOf(jobId)] });
  }

  /** Synthetic jobs for a throughput round, handed out as capacity allows. */
  async fill(count: number, limit: number): Promise<void> {
    this.backlog += count;
    this.limit = limit;
    this.pump();
  }

  override async webSocketMessage(_socket: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const frame = JSON.parse(typeof message === 'string' ? message : new TextDecoder().decode(message)) as QueueClientMessage;
    if (frame.type === 'report') {
      const answers: ReportAnswer[] = frame.reports.map((report) => {
        if (report.status !== 'RUNNING') this.held = Math.max(0, this.held - 1);
        return { jobId: report.jobId, ok: true, status: report.status };
      });
      this.send({ type: 'reported', answers });
    }
    if (frame.capacity !== undefined) this.capacity = frame.capacity;
    this.pump();
  }

  private pump(): void {
    const count = Math.min(this.backlog, this.capacity, this.limit - this.held);
    if (count <= 0) return;
    this.backlog -= count;
    this.held += count;
    this.capacity -= count;
    this.send({ type: 'jobs', jobs: Array.from({ length: count }, () => leaseOf(crypto.randomUUID())) });
  }

  private send(message: QueueServerMessage): void {
    const text = JSON.stringify(message);
    for (const socket of this.ctx.getWebSockets()) socket.send(text);
  }
}

function leaseOf(jobId: string): JobLease {
  return { jobId, leaseId: crypto.randomUUID(), token: 'floor', maxDurationSeconds: 3600, leaseExpiresAt: new Date(Date.now() + 120_000).toISOString() };
}
