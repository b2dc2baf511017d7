import { DurableObject } from 'cloudflare:workers';
import { agentQueuesFor } from '../domain/agents/queues';
import { dispatchQueuedJobs } from '../domain/jobs/dispatch';
import { publishThrough } from '../domain/pipelines/publish';
import { runDueAttempts } from '../domain/pipelines/sweep';
import type { WorkerEnv } from '../env';
import { createLogger } from '../platform/logger';
import { inDatabaseScope } from '../db/hyperdrive';
import { configFor, databaseFor } from '../runtime';

/** An outbox row as the hub fans it out (the wire form: numbers and strings only). */
export interface HubEvent {
  id: number;
  kind: string;
  pipelineId: string | null;
  jobId: string | null;
  releaseId: string | null;
  payload: Record<string, unknown>;
  /** RFC 3339. */
  createdAt: string;
}

/** What one subscriber watches: the whole project, one pipeline or one job. */
/** What one subscriber watches: the whole project (no key), or one pipeline, job or release. */
export interface HubFilter {
  pipelineId?: string;
  jobId?: string;
  releaseId?: string;
}

/** What each subscriber socket carries through hibernation. */
interface SubscriberState {
  /** The newest event id sent on this socket: nothing at or below it is sent again. */
  lastId: number;
}

/** A message on a subscriber socket: events in id order, each newer than any sent before. */
export interface HubMessage {
  events: HubEvent[];
}

// Cloudflare's guidance for one object fanning out to many sockets: batch sends. Publishes that
// arrive within this interval of the previous fan-out wait for the next one and go out together,
// one message per socket; an idle hub fans out at once.
const fanOutIntervalMs = 50;

const projectTag = 'project';

/**
 * Events that schedule work, `payload.at` being when: a gate's next attempt, and a deployment held
 * by a change window (it is looked at again when the window opens or closes).
 */
const scheduling = new Set(['node.attempt_scheduled', 'pipeline.held']);
/** Wake a little after the attempt is due, so the database agrees it is due. */
const alarmSlackMs = 50;
const hubTagOf = (filter: HubFilter) =>
  filter.jobId !== undefined
    ? `job:${filter.jobId}`
    : filter.pipelineId !== undefined
      ? `pipeline:${filter.pipelineId}`
      : filter.releaseId !== undefined
        ? `release:${filter.releaseId}`
        : projectTag;

/**
 * One per project (`idFromName(projectId)`): fans the project's committed pipeline events out to
 * the Workers serving its GraphQL subscriptions. Subscribers are WebSockets accepted with the
 * hibernation API, so a project nobody is publishing to costs nothing while its viewers wait; each
 * socket's filter is its tag and its last delivered id is its attachment, both of which survive
 * hibernation. The hub stores no events: Postgres has them, and a subscriber that lost its socket
 * (every deploy restarts the object) replays what it missed from there.
 */
export class ProjectEventHub extends DurableObject<WorkerEnv> {
  private pending: HubEvent[] = [];
  private delivered: (() => void)[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastFanOut = 0;
  /** The publish round running (or done), and the one waiting to start after it, which new callers join. */
  private publishing: Promise<unknown> = Promise.resolve();
  private nextPublish: Promise<number> | null = null;
  private readonly envs = new Map<string, WorkerEnv>();

  /** `GET /subscribe[?pipelineId=…|?jobId=…]` with `Upgrade: websocket`: a new subscriber. */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') return new Response('Expected a WebSocket upgrade', { status: 426 });
    const url = new URL(request.url);
    const pipelineId = url.searchParams.get('pipelineId');
    const jobId = url.searchParams.get('jobId');
    const releaseId = url.searchParams.get('releaseId');
    const filter: HubFilter = jobId ? { jobId } : pipelineId ? { pipelineId } : releaseId ? { releaseId } : {};
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [hubTagOf(filter)]);
    server.serializeAttachment({ lastId: 0 } satisfies SubscriberState);
    return new Response(null, { status: 101, webSocket: client });
  }

  /**
   * Fans `events` out to the subscribers whose filter they match; resolves once they are sent, so a
   * publisher marks rows published only after the hub had them. Events may repeat those of an
   * earlier publish (two publishers of a project racing): each socket skips ids it already has.
   */
  async publish(events: HubEvent[], projectId?: string): Promise<void> {
    if (projectId !== undefined) await this.wakeForAttempts(events, projectId);
    this.pending.push(...events);
    const sent = new Promise<void>((resolve) => this.delivered.push(resolve));
    this.timer ??= setTimeout(() => this.fanOut(), Math.max(0, this.lastFanOut + fanOutIntervalMs - Date.now()));
    return sent;
  }

  /**
   * Publishes the project's unpublished events from Postgres (publish.ts `publishThrough`) on behalf
   * of the Workers that committed them, one round at a time: a call joins the round that has not
   * started yet, so commits arriving together (ten agents' jobs ending at once) cost one select and
   * one update between them instead of one of each apiece. Resolves once a round that started after
   * the call has published: the caller's events are in it. `database` as the agent queues take it.
   */
  async publishFrom(database: string, projectId: string): Promise<number> {
    if (this.nextPublish) return this.nextPublish;
    let env = this.envs.get(database);
    if (!env) {
      env = database === '' || database === this.env.PHOBOS_DB_NAME ? this.env : { ...this.env, PHOBOS_DB_NAME: database };
      this.envs.set(database, env);
    }
    const db = databaseFor(configFor(env)).http;
    const round = this.publishing.then(() => {
      // Started: a call from now on may come after this round's select, so it waits for the next.
      this.nextPublish = null;
      // Nobody watching: only the events that set this object's alarm are read in full.
      return publishThrough(db, projectId, (events) => this.publish(events, projectId), {
        watched: () => this.ctx.getWebSockets().length > 0,
        kinds: [...scheduling],
      });
    });
    this.nextPublish = round;
    this.publishing = round.catch(() => undefined);
    return round;
  }

  /**
   * Gate timers and change windows: a scheduled attempt or a window's change sets this object's alarm (the earliest wins), so the attempt
   * runs on time instead of at the next cron minute. Alarms survive restarts and are retried by the
   * platform when they throw; the cron sweep stays as the fallback.
   */
  private async wakeForAttempts(events: HubEvent[], projectId: string): Promise<void> {
    const due = events
      .filter((event) => scheduling.has(event.kind) && typeof event.payload.at === 'string')
      .map((event) => Date.parse(event.payload.at as string))
      .filter((at) => Number.isFinite(at));
    if (due.length === 0) return;
    await this.setWake(projectId, Math.min(...due) + alarmSlackMs);
  }

  private async setWake(projectId: string, at: number): Promise<void> {
    await this.ctx.storage.put('projectId', projectId);
    const current = await this.ctx.storage.getAlarm();
    if (current === null || at < current) await this.ctx.storage.setAlarm(at);
  }

  /** Runs the project's due gate attempts, publishes what they wrote, and sets the next wake. */
  override alarm(): Promise<void> {
    // One database connection scope for the run (with a Hyperdrive binding: closed when it ends).
    return inDatabaseScope(
      (promise) => this.ctx.waitUntil(promise),
      () => this.runDueAttempts(),
    );
  }

  private async runDueAttempts(): Promise<void> {
    const projectId = await this.ctx.storage.get<string>('projectId');
    if (!projectId) return;
    const config = configFor(this.env);
    const { moved, nextDueAt } = await runDueAttempts(databaseFor(config).http, config, projectId, new Date(), (events) => this.publish(events));
    if (moved > 0) {
      const logger = createLogger({ level: config.debug ? 'debug' : 'info', fields: { projectId } });
      logger.info('gate attempts started by the hub alarm', { moved });
      // The attempts' jobs go to their agents now, not at the next sweep.
      await dispatchQueuedJobs({ db: databaseFor(config).http, queues: agentQueuesFor(this.env, config) }, { projectId }).catch((error: unknown) =>
        logger.warn('gate attempt jobs not dispatched; the cron sweep will', { error }),
      );
    }
    if (nextDueAt) await this.setWake(projectId, nextDueAt.getTime() + alarmSlackMs);
  }

  /** How many subscribers are connected (tests wait on it before publishing). */
  async subscriberCount(): Promise<number> {
    return this.ctx.getWebSockets().length;
  }

  private fanOut(): void {
    this.timer = undefined;
    this.lastFanOut = Date.now();
    const events = this.pending;
    const delivered = this.delivered;
    this.pending = [];
    this.delivered = [];
    // Nobody watching (most projects, most of the time): nothing to sort out per event.
    if (this.ctx.getWebSockets().length === 0) {
      for (const resolve of delivered) resolve();
      return;
    }
    events.sort((a, b) => a.id - b.id);
    const byTag = new Map<string, HubEvent[]>();
    const add = (tag: string, event: HubEvent) => {
      const list = byTag.get(tag);
      if (list) list.push(event);
      else byTag.set(tag, [event]);
    };
    for (const event of events) {
      add(projectTag, event);
      if (event.pipelineId) add(hubTagOf({ pipelineId: event.pipelineId }), event);
      if (event.jobId) add(hubTagOf({ jobId: event.jobId }), event);
      if (event.releaseId) add(hubTagOf({ releaseId: event.releaseId }), event);
    }
    for (const [tag, list] of byTag) {
      for (const socket of this.ctx.getWebSockets(tag)) this.send(socket, list);
    }
    for (const resolve of delivered) resolve();
  }

  private send(socket: WebSocket, events: HubEvent[]): void {
    const state = socket.deserializeAttachment() as SubscriberState;
    let lastId = state.lastId;
    const fresh: HubEvent[] = [];
    for (const event of events) {
      // Sorted, so this also drops an event given twice in one fan-out.
      if (event.id > lastId) {
        fresh.push(event);
        lastId = event.id;
      }
    }
    if (fresh.length === 0) return;
    try {
      socket.send(JSON.stringify({ events: fresh } satisfies HubMessage));
      socket.serializeAttachment({ lastId } satisfies SubscriberState);
    } catch {
      // A socket closing as we send: its subscriber reconnects and replays from Postgres.
    }
  }

  /** Subscribers only listen; anything they send is ignored. */
  override async webSocketMessage(): Promise<void> {}

  override async webSocketClose(socket: WebSocket, code: number, reason: string): Promise<void> {
    try {
      socket.close(code, reason);
    } catch {
      // Already closed (the runtime answers the close frame itself).
    }
  }
}
