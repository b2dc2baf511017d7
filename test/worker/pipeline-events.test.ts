// Live pipeline events end to end: outbox rows written under the project's lock, published to the
// project's event hub (a real Durable Object in miniflare), and read by GraphQL subscriptions over
// SSE through the whole app — filtering, resuming with afterEventId, de-duplication where replay and
// live overlap, the hub dropping its sockets, the cron sweep, who may subscribe, and delivery latency.
import { runInDurableObject } from 'cloudflare:test';
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { agentQueuesFor } from '../../src/domain/agents/queues';
import { loadCaller } from '../../src/auth/caller';
import type { Caller } from '../../src/auth/rbac';
import { addMember } from '../../src/domain/memberships/service';
import { createOrganization } from '../../src/domain/organizations/service';
import { appendPipelineEvents, insertPipelineEvents, lockPipelineEvents, type NewPipelineEvent } from '../../src/domain/pipelines/outbox';
import {
  projectEventHub,
  publishedThroughOf,
  publishPipelineEvents,
  publishPipelineEventsAfterResponse,
  publishThrough,
} from '../../src/domain/pipelines/publish';
import { pipelineEventPublishTask, unpublishedGraceMs } from '../../src/domain/pipelines/publish-task';
import { createProject } from '../../src/domain/projects/service';
import { createRole } from '../../src/domain/roles/service';
import { createLogger } from '../../src/platform/logger';
import { runScheduledTasks } from '../../src/scheduled/tasks';
import { measureEventDelivery } from '../support/event-latency';
import { globalId, graphqlHarness, type GraphQLHarness, type Identity } from '../support/graphql';
import { openSubscription, type OpenSubscription } from '../support/graphql-subscriptions';
import { insertBarePipeline } from '../support/pipeline-templates';

interface EventResult {
  id: string;
  kind: string;
  pipelineId: string | null;
  jobId: string | null;
  payload: Record<string, unknown>;
  createdAt: string;
}
type Field = 'projectEvents' | 'pipelineEvents' | 'jobEvents';
type Stream = OpenSubscription<Partial<Record<Field, EventResult>>>;

const fields = 'id kind pipelineId jobId payload createdAt';
const documents: Record<Field, string> = {
  projectEvents: `subscription($id: ID!, $after: String) { projectEvents(projectId: $id, afterEventId: $after) { ${fields} } }`,
  pipelineEvents: `subscription($id: ID!, $after: String) { pipelineEvents(pipelineId: $id, afterEventId: $after) { ${fields} } }`,
  jobEvents: `subscription($id: ID!, $after: String) { jobEvents(jobId: $id, afterEventId: $after) { ${fields} } }`,
};

let h: GraphQLHarness;
let adminCaller: Caller;
let organizationId: string;
let viewer: Identity;
let customRoleHolder: Identity;
let outsider: Identity;
const logger = createLogger({ level: 'error' });

beforeAll(async () => {
  h = await graphqlHarness();
  const admin = await h.createUser({ admin: true });
  viewer = await h.createUser();
  customRoleHolder = await h.createUser();
  outsider = await h.createUser();
  adminCaller = await loadCaller(h.db.http, { kind: 'user', userId: admin.id, username: admin.name, email: '', isAdmin: true, via: 'access_token' });
  organizationId = (await createOrganization(h.db.http, adminCaller, { name: 'acme' })).id;
  await addMember(h.db.http, adminCaller, { organizationId, userId: viewer.id, role: 'viewer' });
  await createRole(h.db.http, adminCaller, { name: 'project-only', permissions: ['project:view'] });
  await addMember(h.db.http, adminCaller, { organizationId, userId: customRoleHolder.id, role: 'project-only' });
  const other = await createOrganization(h.db.http, adminCaller, { name: 'other' });
  await addMember(h.db.http, adminCaller, { organizationId: other.id, userId: outsider.id, role: 'owner' });
});

let projects = 0;
/** A project of its own per test: its own hub and its own events. */
async function newProject() {
  const project = await createProject(h.db.http, adminCaller, { organizationId, name: `web-${++projects}` });
  const scope = { organizationId, projectId: project.id };
  // A pipeline belongs to one project: each test's project has pipelines and a job of its own.
  const [pipelineA, pipelineB, jobA1] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
  await insertBarePipeline(h.db.http, scope, pipelineA, jobA1);
  await insertBarePipeline(h.db.http, scope, pipelineB);
  return {
    id: project.id,
    pipelineA,
    pipelineB,
    jobA1,
    gid: globalId('Project', project.id),
    append: (events: NewPipelineEvent[]) => appendPipelineEvents(h.db.http, scope, events),
    publish: () => publishPipelineEvents(h.db.http, h.env.PROJECT_EVENT_HUB, project.id),
    hub: () => projectEventHub(h.env.PROJECT_EVENT_HUB, project.id),
  };
}

async function subscribe(field: Field, id: string, after?: string | number, as: Identity = viewer): Promise<Stream> {
  return openSubscription(h, documents[field], { id, after: after === undefined ? undefined : String(after) }, { as });
}

/** The next `count` events of a stream (failing on an error message). */
async function take(stream: Stream, count: number): Promise<EventResult[]> {
  const events: EventResult[] = [];
  while (events.length < count) {
    const message = await stream.next();
    expect(message?.errors).toBeUndefined();
    const event = message?.data && Object.values(message.data)[0];
    if (!event) throw new Error('the stream ended');
    events.push(event);
  }
  return events;
}

/** Asserts nothing more arrives within `ms`. */
async function expectQuiet(stream: Stream, ms = 300) {
  await expect(stream.next(ms)).rejects.toThrow(/no subscription message/);
}

const kinds = (events: EventResult[]) => events.map((event) => event.kind);

describe('pipeline event subscriptions', () => {
  it('deliver published events to a project subscriber, with every field', async () => {
    const project = await newProject();
    const stream = await subscribe('projectEvents', project.gid);
    expect(stream.status).toBe(200);
    expect(stream.contentType).toMatch(/^text\/event-stream/);
    const [written] = await project.append([
      { kind: 'pipeline.created', pipelineId: project.pipelineA, payload: { status: 'CREATED' } },
      { kind: 'job.queued', pipelineId: project.pipelineA, jobId: project.jobA1, payload: { status: 'QUEUED' } },
    ]);
    expect(await project.publish()).toBe(2);
    const events = await take(stream, 2);
    expect(events[0]).toEqual({
      id: String(written!.id),
      kind: 'pipeline.created',
      pipelineId: globalId('Pipeline', project.pipelineA),
      jobId: null,
      payload: { status: 'CREATED' },
      createdAt: written!.createdAt.toISOString(),
    });
    expect(events[1]).toMatchObject({ id: String(written!.id + 1), kind: 'job.queued', jobId: globalId('Job', project.jobA1) });
    const unpublished = await h.db.http.execute<{ count: number }>(
      sql`select count(*)::int as count from pipeline_events where project_id = ${project.id} and id > ${publishedThroughOf(project.id)}`,
    );
    expect(unpublished.rows[0]!.count).toBe(0);
    await stream.close();
  });

  it("move the project's cursor past what they delivered, never back, and a failed hand-off leaves the rows to the next publish", async () => {
    const project = await newProject();
    const cursor = async () => {
      const result = await h.db.http.execute<{ through: number }>(sql`select ${publishedThroughOf(project.id)}::int as through`);
      return result.rows[0]!.through;
    };
    expect(await cursor()).toBe(0);
    const first = await project.append([{ kind: 'node.one' }, { kind: 'node.two' }]);
    // The hub refuses: nothing is marked published, and the next publish delivers the same rows.
    await expect(publishThrough(h.db.http, project.id, () => Promise.reject(new Error('hub restarting')))).rejects.toThrow('hub restarting');
    expect(await cursor()).toBe(0);
    const delivered: string[] = [];
    expect(await publishThrough(h.db.http, project.id, async (events) => void delivered.push(...events.map((event) => event.kind)))).toBe(2);
    expect(delivered).toEqual(['node.one', 'node.two']);
    expect(await cursor()).toBe(first[1]!.id);
    // A slower publish read only the next row; a faster one delivers that row and another, and the
    // slow one finishes last: the cursor stays past both.
    const third = await project.append([{ kind: 'node.three' }]);
    let release!: () => void;
    let reached!: () => void;
    const slowReached = new Promise<void>((resolve) => (reached = resolve));
    const slow = publishThrough(h.db.http, project.id, async () => {
      reached();
      await new Promise<void>((resolve) => (release = resolve));
    });
    await slowReached;
    const fourth = await project.append([{ kind: 'node.four' }]);
    expect(await publishThrough(h.db.http, project.id, async () => undefined)).toBe(2);
    expect(await cursor()).toBe(fourth[0]!.id);
    release();
    expect(await slow).toBe(1);
    expect(await cursor()).toBe(fourth[0]!.id);
    expect(third[0]!.id).toBeLessThan(fourth[0]!.id);
    expect(await publishThrough(h.db.http, project.id, async () => undefined)).toBe(0);
  });

  it('filter by pipeline and by job', async () => {
    const project = await newProject();
    await project.append([
      { kind: 'pipeline.created', pipelineId: project.pipelineA },
      { kind: 'pipeline.created', pipelineId: project.pipelineB },
      { kind: 'job.created', pipelineId: project.pipelineA, jobId: project.jobA1 },
    ]);
    await project.publish();
    const all = await subscribe('projectEvents', project.gid);
    const onlyA = await subscribe('pipelineEvents', globalId('Pipeline', project.pipelineA));
    const onlyB = await subscribe('pipelineEvents', globalId('Pipeline', project.pipelineB));
    const onlyJob = await subscribe('jobEvents', globalId('Job', project.jobA1));
    await project.append([
      { kind: 'pipeline.started', pipelineId: project.pipelineB },
      { kind: 'node.status_changed', pipelineId: project.pipelineA, payload: { node: 'deploy' } },
      { kind: 'job.status_changed', pipelineId: project.pipelineA, jobId: project.jobA1, payload: { status: 'RUNNING' } },
      { kind: 'pipeline.started', pipelineId: project.pipelineB },
    ]);
    await project.publish();
    expect(kinds(await take(all, 4))).toEqual(['pipeline.started', 'node.status_changed', 'job.status_changed', 'pipeline.started']);
    expect(kinds(await take(onlyA, 2))).toEqual(['node.status_changed', 'job.status_changed']);
    expect(kinds(await take(onlyB, 2))).toEqual(['pipeline.started', 'pipeline.started']);
    expect(kinds(await take(onlyJob, 1))).toEqual(['job.status_changed']);
    await Promise.all([expectQuiet(onlyA), expectQuiet(onlyJob)]);
    await Promise.all([all, onlyA, onlyB, onlyJob].map((stream) => stream.close()));
  });

  it('resume with afterEventId: exactly the missed events, in order, then live ones', async () => {
    const project = await newProject();
    const written = await project.append(Array.from({ length: 6 }, (_, index) => ({ kind: `pipeline.step_${index}`, pipelineId: project.pipelineA })));
    await project.publish();
    const stream = await subscribe('projectEvents', project.gid, written[2]!.id);
    expect((await take(stream, 3)).map((event) => event.id)).toEqual(written.slice(3).map((event) => String(event.id)));
    const [later] = await project.append([{ kind: 'pipeline.finished', pipelineId: project.pipelineA }]);
    await project.publish();
    expect(await take(stream, 1)).toMatchObject([{ id: String(later!.id), kind: 'pipeline.finished' }]);
    await expectQuiet(stream);
    await stream.close();

    // The same for one pipeline: only its events after the id, whatever else happened in the project.
    await project.append([{ kind: 'pipeline.created', pipelineId: project.pipelineB }]);
    await project.publish();
    const forA = await subscribe('pipelineEvents', globalId('Pipeline', project.pipelineA), written[4]!.id);
    expect((await take(forA, 2)).map((event) => event.kind)).toEqual(['pipeline.step_5', 'pipeline.finished']);
    await expectQuiet(forA);
    await forA.close();
  });

  it('gives an event once where replay and live overlap, and once when two publishers race', async () => {
    const project = await newProject();
    const [before] = await project.append([{ kind: 'pipeline.created', pipelineId: project.pipelineA }]);
    await project.publish();
    // Committed but not yet published when the subscriber connects: the replay returns them, and the
    // hub sends them again when they are published.
    const pending = await project.append([{ kind: 'node.a' }, { kind: 'node.b' }]);
    const stream = await subscribe('projectEvents', project.gid, before!.id);
    expect(kinds(await take(stream, 2))).toEqual(['node.a', 'node.b']);
    await project.publish();
    await project.append([{ kind: 'node.c' }, { kind: 'node.d' }]);
    // Two publishers of the same rows at once (two requests' publish after commit): both reach the hub.
    await Promise.all([project.publish(), project.publish(), project.hub().publish([])]);
    expect(kinds(await take(stream, 2))).toEqual(['node.c', 'node.d']);
    await expectQuiet(stream);
    expect(pending).toHaveLength(2);
    await stream.close();
  });

  it('goes on after the hub drops its sockets (a deploy restarts it), replaying what was committed meanwhile', async () => {
    const project = await newProject();
    const stream = await subscribe('projectEvents', project.gid);
    await project.append([{ kind: 'node.before' }]);
    await project.publish();
    expect(kinds(await take(stream, 1))).toEqual(['node.before']);
    await runInDurableObject(project.hub(), (_instance, state) => {
      for (const socket of state.getWebSockets()) socket.close(1012, 'restarting');
    });
    // Committed while the subscription had no socket, and published to nobody.
    await project.append([{ kind: 'node.meanwhile' }]);
    await project.publish();
    await project.append([{ kind: 'node.after' }]);
    await project.publish();
    expect(kinds(await take(stream, 2))).toEqual(['node.meanwhile', 'node.after']);
    await expectQuiet(stream);
    await stream.close();
  });

  it('lets go of the hub socket when the client disconnects', async () => {
    const project = await newProject();
    const stream = await subscribe('projectEvents', project.gid);
    expect(await project.hub().subscriberCount()).toBe(1);
    await stream.close();
    for (let attempt = 0; attempt < 50 && (await project.hub().subscriberCount()) > 0; attempt += 1) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await project.hub().subscriberCount()).toBe(0);
  });

  it('publish after the response: a failing hub leaves rows to the cron task, which publishes them in order', async () => {
    const project = await newProject();
    const stream = await subscribe('projectEvents', project.gid);
    // Once the subscription is live (its replay done), only the hub brings it events.
    await project.append([{ kind: 'node.zero' }]);
    await project.publish();
    expect(kinds(await take(stream, 1))).toEqual(['node.zero']);
    const background: Promise<unknown>[] = [];
    const brokenHubs = {
      idFromName: () => {
        throw new Error('hub unavailable');
      },
    } as unknown as typeof h.env.PROJECT_EVENT_HUB;
    await project.append([{ kind: 'node.one' }, { kind: 'node.two' }]);
    publishPipelineEventsAfterResponse(
      { db: h.db.http, hubs: brokenHubs, queues: agentQueuesFor(h.env, h.config), logger, waitUntil: (promise) => background.push(promise) },
      project.id,
    );
    await Promise.all(background);
    await expectQuiet(stream);

    // Not yet stale: the sweep leaves them to the publish after commit.
    const config = h.config;
    const run = (now: Date) => runScheduledTasks([pipelineEventPublishTask], { env: h.env, config, logger, now });
    expect(await run(new Date())).toEqual([{ name: 'pipeline-event-publish', ok: true }]);
    await expectQuiet(stream);
    await run(new Date(Date.now() + unpublishedGraceMs + 1_000));
    expect(kinds(await take(stream, 2))).toEqual(['node.one', 'node.two']);
    const unpublished = await h.db.http.execute<{ count: number }>(
      sql`select count(*)::int as count from pipeline_events where project_id = ${project.id} and id > ${publishedThroughOf(project.id)}`,
    );
    expect(unpublished.rows[0]!.count).toBe(0);

    // And the publish after commit, working, publishes at once.
    await project.append([{ kind: 'node.three' }]);
    publishPipelineEventsAfterResponse(
      { db: h.db.http, hubs: h.env.PROJECT_EVENT_HUB, queues: agentQueuesFor(h.env, h.config), logger, waitUntil: (promise) => background.push(promise) },
      project.id,
    );
    expect(kinds(await take(stream, 1))).toEqual(['node.three']);
    await stream.close();
  });

  it('reach a subscriber within a second of publish (p50 and p99 over 100 events, back to back and spaced out)', async () => {
    const project = await newProject();
    const stream = await subscribe('projectEvents', project.gid);
    let offset = 0;
    const probe = {
      append: (index: number) => project.append([{ kind: 'node.status_changed', payload: { index: offset + index } }]).then(() => undefined),
      publish: project.publish,
      received: async (index: number) => {
        const [event] = await take(stream, 1);
        expect(event!.payload).toEqual({ index: offset + index });
      },
    };
    const backToBack = await measureEventDelivery(probe, { count: 100 });
    offset = 100;
    const spaced = await measureEventDelivery(probe, { count: 100, gapMs: 60 });
    for (const [name, summary] of Object.entries({ backToBack, spaced })) {
      console.info(
        `pipeline event delivery (${name}, ${summary.count} events): p50 ${summary.p50.toFixed(1)} ms, p99 ${summary.p99.toFixed(1)} ms, max ${summary.max.toFixed(1)} ms`,
      );
      expect(summary.p99).toBeLessThan(1000);
    }
    await stream.close();
  });

  it('are served to GET requests too (a browser EventSource)', async () => {
    const project = await newProject();
    const [event] = await project.append([{ kind: 'pipeline.created', pipelineId: project.pipelineA }]);
    const stream = await openSubscription<Partial<Record<Field, EventResult>>>(
      h,
      documents.projectEvents,
      { id: project.gid, after: String(event!.id - 1) },
      { as: viewer, method: 'GET' },
    );
    expect(stream.contentType).toMatch(/^text\/event-stream/);
    expect(kinds(await take(stream, 1))).toEqual(['pipeline.created']);
    await stream.close();
  });
});

describe('the outbox', () => {
  it("writes a transition's events in the transition's transaction: none when it fails, ids in commit order when it commits", async () => {
    const project = await newProject();
    const scope = { organizationId, projectId: project.id };
    const db = h.db.http;
    await expect(
      db.batch([lockPipelineEvents(db, scope.projectId), insertPipelineEvents(db, scope, [{ kind: 'node.status_changed' }]), db.execute(sql`select 1 / 0`)]),
    ).rejects.toThrow();
    const count = async () =>
      (await db.execute<{ count: number }>(sql`select count(*)::int as count from pipeline_events where project_id = ${project.id}`)).rows[0]!.count;
    expect(await count()).toBe(0);
    // Concurrent writers of one project, serialised by its lock: every batch is written, in its own order.
    const batches = await Promise.all(Array.from({ length: 8 }, (_, index) => project.append([{ kind: `node.${index}` }, { kind: `node.${index}.b` }])));
    expect(await count()).toBe(16);
    for (const batch of batches) expect(batch[1]!.id).toBe(batch[0]!.id + 1);
    expect(await appendPipelineEvents(db, scope, [])).toEqual([]);
  });
});

describe('who may subscribe', () => {
  const firstError = async (stream: Stream) => {
    const message = await stream.next();
    await stream.close();
    return { code: message?.errors?.[0]?.extensions?.code, field: message?.errors?.[0]?.extensions?.field };
  };

  it('refuses anonymous callers, other tenants and members without pipeline:view', async () => {
    const project = await newProject();
    await project.append([{ kind: 'pipeline.created', pipelineId: project.pipelineA, jobId: project.jobA1 }]);
    const anonymous = await openSubscription(h, documents.projectEvents, { id: project.gid });
    expect(await firstError(anonymous)).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(await firstError(await subscribe('projectEvents', project.gid, undefined, outsider))).toMatchObject({ code: 'NOT_FOUND' });
    expect(await firstError(await subscribe('pipelineEvents', globalId('Pipeline', project.pipelineA), undefined, outsider))).toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(await firstError(await subscribe('jobEvents', globalId('Job', project.jobA1), undefined, outsider))).toMatchObject({ code: 'NOT_FOUND' });
    // project:view alone sees the project, not its pipelines.
    expect(await firstError(await subscribe('projectEvents', project.gid, undefined, customRoleHolder))).toMatchObject({ code: 'FORBIDDEN' });
    expect(await project.hub().subscriberCount()).toBe(0);
  });

  it('refuses a pipeline or job with no events as not found', async () => {
    expect(await firstError(await subscribe('pipelineEvents', globalId('Pipeline', crypto.randomUUID())))).toMatchObject({ code: 'NOT_FOUND' });
    expect(await firstError(await subscribe('jobEvents', globalId('Job', crypto.randomUUID())))).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('names the argument at fault', async () => {
    const project = await newProject();
    expect(await firstError(await subscribe('projectEvents', globalId('Organization', organizationId)))).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'projectId',
    });
    expect(await firstError(await subscribe('projectEvents', project.gid, 'seven'))).toEqual({ code: 'BAD_USER_INPUT', field: 'afterEventId' });
    expect(await firstError(await subscribe('projectEvents', project.gid, '-1'))).toEqual({ code: 'BAD_USER_INPUT', field: 'afterEventId' });
    expect(await firstError(await subscribe('projectEvents', project.gid, '99999999999999999'))).toEqual({ code: 'BAD_USER_INPUT', field: 'afterEventId' });
    expect(await firstError(await subscribe('pipelineEvents', globalId('Job', project.jobA1)))).toEqual({ code: 'BAD_USER_INPUT', field: 'pipelineId' });
    expect(await firstError(await subscribe('jobEvents', 'not-an-id'))).toEqual({ code: 'BAD_USER_INPUT', field: 'jobId' });
    expect(await firstError(await subscribe('projectEvents', `${project.gid}\u0000`))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'projectId' });
  });
});

describe('query limits on subscriptions', () => {
  it('apply the complexity limit and the alias limit', async () => {
    const limited = await graphqlHarness({ PHOBOS_MAX_GRAPHQL_COMPLEXITY: '3' });
    const project = await newProject();
    const member = await limited.createUser({ admin: true });
    const tooComplex = await openSubscription(limited, documents.projectEvents, { id: project.gid }, { as: member });
    const message = await tooComplex.next();
    await tooComplex.close();
    expect(message?.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', complexity: 7, maxComplexity: 3 } });

    const aliases = Array.from({ length: 16 }, (_, index) => `a${index}: id`).join(' ');
    const tooManyAliases = await openSubscription(
      h,
      `subscription($id: ID!) { projectEvents(projectId: $id) { ${aliases} } }`,
      { id: project.gid },
      { as: viewer },
    );
    const refused = await tooManyAliases.next();
    await tooManyAliases.close();
    expect(refused?.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(refused?.errors?.[0]?.message).toMatch(/aliases/i);
  });
});
