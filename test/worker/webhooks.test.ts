// Webhooks end to end on a real database: subscriptions through GraphQL (the secret shown once and
// never again), deliveries made from the engine's outbox and posted to a receiver that verifies the
// Stripe-style signature with its own HMAC code (and one holding a wrong secret, which refuses),
// the generic, Slack and Teams shapes, retries with backoff then failure, redelivery, isolation
// between event kinds and organizations, and approval links (single use, expiring, tamper-proof,
// checked against the approval rule when used, recorded in the activity log; GET never acts).
// A post to an address where nothing listens is a real network error (http to loopback is allowed
// for this local installation).
import { env } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { updateApprovalRule } from '../../src/domain/approval-rules/service';
import { finishJob, markJobRunning } from '../../src/domain/jobs/service';
import { addMember } from '../../src/domain/memberships/service';
import { createOrganization } from '../../src/domain/organizations/service';
import { createPipeline, listPipelineJobs, listPipelineNodes } from '../../src/domain/pipelines/service';
import { createProject } from '../../src/domain/projects/service';
import { signApprovalLink } from '../../src/domain/webhooks/approval-links';
import { makeWebhookDeliveries } from '../../src/domain/webhooks/deliveries';
import type { WebhookEvent } from '../../src/domain/webhooks/formats';
import { retryDelayMs, sendDueWebhookDeliveries, webhookDeliveryPolicy, type WebhookTransport } from '../../src/domain/webhooks/send';
import { createWebhook, redeliverWebhookDelivery, shownWebhookUrl, updateWebhook } from '../../src/domain/webhooks/service';
import { deliveryRetentionDays, pruneWebhookRecords, webhookDeliveryTask } from '../../src/domain/webhooks/task';
import { createLogger } from '../../src/platform/logger';
import { runScheduledTasks, scheduledTasks } from '../../src/scheduled/tasks';
import type { AppError } from '../../src/errors';
import { globalId, type Identity } from '../support/graphql';
import { storeTemplate, template, type StageSpec } from '../support/pipeline-templates';
import { pipelineWorld, type PipelineWorld } from '../support/pipeline-world';

let w: PipelineWorld;
let ownerIdentity: Identity;
let viewerIdentity: Identity;
const closedPort = (env as unknown as Record<string, string>).TEST_DATABASE_CLOSED_PORT;
const closedUrl = `http://127.0.0.1:${closedPort}/hook`;

beforeAll(async () => {
  w = await pipelineWorld();
  ownerIdentity = await w.h.createUser();
  viewerIdentity = await w.h.createUser();
  await addMember(w.db, w.admin, { organizationId: w.organizationId, userId: ownerIdentity.id, role: 'owner' });
  await addMember(w.db, w.admin, { organizationId: w.organizationId, userId: viewerIdentity.id, role: 'viewer' });
});

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    return error as AppError;
  }
  throw new Error('expected a rejection');
}

interface Received {
  headers: Headers;
  body: string;
}

/** The receiver's side of the signature, written apart from the sender's: t=<s>,v1=<hex HMAC-SHA256 of "<t>.<body>">. */
async function signatureValid(secret: string, header: string | null, body: string, now: Date): Promise<boolean> {
  const parts = Object.fromEntries((header ?? '').split(',').map((part) => part.split('=') as [string, string]));
  const timestamp = Number(parts.t);
  if (!Number.isInteger(timestamp) || Math.abs(now.getTime() / 1000 - timestamp) > 300) return false;
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  const mac = new Uint8Array((parts.v1 ?? '').match(/../g)?.map((byte) => Number.parseInt(byte, 16)) ?? []);
  return crypto.subtle.verify('HMAC', key, mac, new TextEncoder().encode(`${timestamp}.${body}`));
}

/** A receiver holding `secret`: 200 for a delivery whose signature verifies, 401 otherwise. */
function receiver(secret: string, received: Received[] = [], now = () => new Date()): WebhookTransport {
  return async (request) => {
    const body = await request.text();
    received.push({ headers: request.headers, body });
    if (!(await signatureValid(secret, request.headers.get('phobos-signature'), body, now()))) return new Response('bad signature', { status: 401 });
    return new Response('thanks', { status: 200 });
  };
}

async function newWebhook(eventKinds: string[], format = 'generic', organizationId = w.organizationId) {
  return createWebhook(w.db, w.h.config, w.admin, { organizationId, url: closedUrl, format, eventKinds });
}

/** A pipeline of the template; a deployment goes to an environment of its own unless named (one runs at a time per environment). */
async function runPipeline(
  stages: StageSpec[],
  type: 'RUNBOOK' | 'DEPLOYMENT' = 'RUNBOOK',
  place = { organizationId: w.organizationId, projectId: w.projectId },
  environmentName = `env-${crypto.randomUUID().slice(0, 8)}`,
) {
  const templateId = await storeTemplate(w.db, place, template({ stages, agentTags: ['linux'] }));
  return createPipeline(w.db, w.config, w.admin, { pipelineTemplateId: templateId, type, ...(type === 'DEPLOYMENT' ? { environmentName } : {}) });
}

async function deliveriesOf(webhookId: string) {
  const result = await w.db.execute<{ id: string; event_kind: string; body: string; status: string; attempts: number; next_attempt_at: string | null }>(
    sql`select id, event_kind, body, status, attempts, next_attempt_at from webhook_deliveries where webhook_id = ${webhookId} order by pipeline_event_id`,
  );
  return result.rows;
}

async function attemptsOf(deliveryId: string) {
  const result = await w.db.execute<{ response_status: number | null; response_body: string | null; error: string | null }>(
    sql`select response_status, response_body, error from webhook_delivery_attempts where delivery_id = ${deliveryId} order by created_at, id`,
  );
  return result.rows;
}

async function finishAll(pipelineId: string, status: 'FINISHED' | 'FAILED') {
  for (const job of await listPipelineJobs(w.db, w.admin, pipelineId)) {
    if (job.status !== 'QUEUED') continue;
    await markJobRunning(w.db, w.config, job.id);
    await finishJob(w.db, w.config, job.id, { status });
  }
}

describe('webhooks through GraphQL', () => {
  const create = `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id url format eventKinds enabled metadata { version prn } } secret } }`;

  it('creates a webhook, shows its secret once, keeps it sealed, and never returns it again', async () => {
    const created = await w.h.gql<{
      createWebhook: { webhook: { id: string; eventKinds: string[]; format: string; metadata: { prn: string } }; secret: string };
    }>(
      create,
      {
        input: {
          organizationId: globalId('Organization', w.organizationId),
          url: 'https://hooks.example.com/services/T0/B0/x',
          format: 'SLACK',
          eventKinds: ['DEPLOYMENT_FAILED', 'APPROVAL_REQUESTED'],
        },
      },
      { as: ownerIdentity },
    );
    expect(created.errors).toBeUndefined();
    const { webhook, secret } = created.data!.createWebhook;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(webhook).toMatchObject({ format: 'SLACK', eventKinds: ['APPROVAL_REQUESTED', 'DEPLOYMENT_FAILED'] });
    expect(webhook.metadata.prn).toMatch(/^prn:webhook:acme\//);

    const everything = await w.db.execute<{ text: string }>(sql`select row_to_json(w)::text as text from webhooks w`);
    expect(everything.rows.map((row) => row.text).join('\n')).not.toContain(secret);

    const listed = await w.h.gql(
      `query($name: String!) { organization(name: $name) { webhooks { id url description format eventKinds enabled metadata { createdAt updatedAt version prn }
        deliveries(first: 5) { totalCount edges { node { id body attemptLog { responseBody } } } } } } }`,
      { name: 'acme' },
      { as: viewerIdentity },
    );
    expect(listed.errors).toBeUndefined();
    expect(listed.text).toContain('hooks.example.com');
    expect(listed.text).not.toContain(secret);
    const node = await w.h.gql(`query($id: ID!) { node(id: $id) { id ... on Webhook { url } } }`, { id: webhook.id }, { as: ownerIdentity });
    expect(node.text).not.toContain(secret);

    const rotated = await w.h.gql<{ rotateWebhookSecret: { secret: string } }>(
      'mutation($input: RotateWebhookSecretInput!) { rotateWebhookSecret(input: $input) { secret webhook { metadata { version } } } }',
      { input: { id: webhook.id } },
      { as: ownerIdentity },
    );
    expect(rotated.data!.rotateWebhookSecret.secret).toMatch(/^whsec_/);
    expect(rotated.data!.rotateWebhookSecret.secret).not.toBe(secret);
    const again = await w.h.gql(`query($name: String!) { organization(name: $name) { webhooks { id url } } }`, { name: 'acme' }, { as: ownerIdentity });
    expect(again.text).not.toContain(rotated.data!.rotateWebhookSecret.secret);

    const activity = await w.db.execute<{ action: string; payload: string }>(
      sql`select action, payload::text from activity_events where target_type = 'webhook' order by created_at`,
    );
    expect(activity.rows.map((row) => row.action)).toEqual(['create', 'rotate_secret']);
    expect(activity.rows.map((row) => row.payload).join()).not.toContain('whsec_');
    // An incoming-webhook URL is a credential: the log keeps its origin, and viewers see no more.
    expect(activity.rows.map((row) => row.payload).join()).not.toContain('/services/T0/B0/x');
    expect(JSON.parse(activity.rows[0]!.payload)).toMatchObject({ url: 'https://hooks.example.com' });
    const shown = (
      await w.h.gql<{ node: { url: string } }>('query($id: ID!) { node(id: $id) { ... on Webhook { url } } }', { id: webhook.id }, { as: ownerIdentity })
    ).data!.node.url;
    expect(shown).toBe('https://hooks.example.com/services/T0/B0/x');
    expect(shownWebhookUrl(w.viewer, { url: shown, organizationId: w.organizationId })).toBe('https://hooks.example.com');

    const deleted = await w.h.gql(
      'mutation($input: DeleteWebhookInput!) { deleteWebhook(input: $input) { webhook { id } } }',
      { input: { id: webhook.id } },
      { as: ownerIdentity },
    );
    expect(deleted.errors).toBeUndefined();
    const afterDelete = await w.db.execute<{ action: string }>(sql`select action from activity_events where target_type = 'webhook' order by created_at`);
    expect(afterDelete.rows.map((row) => row.action)).toEqual(['create', 'rotate_secret', 'delete']);
  });

  it('refuses a create past ResourceLimitWebhooksPerOrganization, leaving no webhook and no event', async () => {
    const count = async (table: 'webhooks' | 'activity_events') =>
      (await w.db.execute<{ n: number }>(sql`select count(*)::int as n from ${sql.raw(table)} where organization_id = ${w.organizationId}`)).rows[0]!.n;
    await w.db.execute(sql`update resource_limits set value = ${await count('webhooks')} where name = 'ResourceLimitWebhooksPerOrganization'`);
    try {
      const [webhooks, events] = [await count('webhooks'), await count('activity_events')];
      const refused = await rejection(newWebhook(['deployment.failed']));
      expect(refused).toMatchObject({ code: 'RESOURCE_LIMIT_EXCEEDED', message: expect.stringContaining('ResourceLimitWebhooksPerOrganization') });
      expect([await count('webhooks'), await count('activity_events')]).toEqual([webhooks, events]);
    } finally {
      await w.db.execute(sql`update resource_limits set value = 25 where name = 'ResourceLimitWebhooksPerOrganization'`);
    }
  });

  it('refuses a viewer (FORBIDDEN) and another tenant (NOT_FOUND), and bad fields by name', async () => {
    const input = {
      organizationId: globalId('Organization', w.organizationId),
      url: 'https://hooks.example.com/x',
      format: 'GENERIC',
      eventKinds: ['DEPLOYMENT_FAILED'],
    };
    expect((await w.h.gql(create, { input }, { as: viewerIdentity })).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const outsider = await w.h.createUser();
    expect((await w.h.gql(create, { input }, { as: outsider })).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    const field = async (url: string) => (await w.h.gql(create, { input: { ...input, url } }, { as: ownerIdentity })).errors?.[0]?.extensions;
    for (const url of [
      'http://hooks.example.com/x',
      'https://10.1.2.3/x',
      'https://169.254.169.254/latest/meta-data',
      'https://192.168.0.10/x',
      'https://[fd00::1]/x',
      'https://intranet/x',
      'https://user:pass@hooks.example.com/x',
      'ftp://hooks.example.com/x',
      'not a url',
    ]) {
      expect(await field(url), url).toMatchObject({ code: 'BAD_USER_INPUT', field: 'url' });
    }
    const empty = await w.h.gql(create, { input: { ...input, eventKinds: [] } }, { as: ownerIdentity });
    expect(empty.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'eventKinds' });
  });
});

describe('deliveries', () => {
  const approvalStages = async (): Promise<StageSpec[]> => [
    {
      name: 'prod',
      tasks: [{ name: 'deploy', approvalRules: [await w.approvalRule(`gate-${crypto.randomUUID().slice(0, 6)}`, 1)], actions: [{ alias: 'a' }] }],
    },
  ];

  it('posts an approval request signed with the webhook secret, to a receiver that verifies it; a wrong secret is refused and not retried', async () => {
    const good = await newWebhook(['approval.requested']);
    const wrong = await newWebhook(['approval.requested']);
    const pipeline = await runPipeline(await approvalStages());
    const now = new Date();
    await makeWebhookDeliveries(w.db, w.h.config, now);
    const [delivery] = await deliveriesOf(good.webhook.id);
    expect(delivery).toMatchObject({ event_kind: 'approval.requested', status: 'pending', attempts: 0 });

    const received: Received[] = [];
    await sendDueWebhookDeliveries(w.db, w.h.config, { now, transport: receiver(good.secret, received), deliveryIds: [delivery!.id] });
    expect(received).toHaveLength(1);
    const { headers, body } = received[0]!;
    expect(headers.get('content-type')).toBe('application/json');
    expect(headers.get('phobos-webhook-id')).toBe(good.webhook.id);
    expect(headers.get('phobos-delivery-id')).toBe(delivery!.id);
    expect(headers.get('phobos-signature')).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    const event = JSON.parse(body) as WebhookEvent;
    expect(event).toMatchObject({
      id: delivery!.id,
      event: 'approval.requested',
      organization: { id: w.organizationId, name: 'acme' },
      project: { id: w.projectId, name: 'web' },
      pipeline: { id: pipeline.id, type: 'RUNBOOK' },
      node: { path: 'stage.prod.task.deploy', kind: 'TASK', status: 'APPROVAL_PENDING' },
    });
    // The team's three members and the approver named directly: one link each.
    expect(event.approvalLinks).toHaveLength(4);
    expect(event.approvalLinks!.every((link) => link.approveUrl.startsWith('http://localhost:9000/webhooks/approvals?token='))).toBe(true);
    expect((await deliveriesOf(good.webhook.id))[0]).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(await attemptsOf(delivery!.id)).toEqual([{ response_status: 200, response_body: 'thanks', error: null }]);

    // Its approval links are single-use credentials for the channel it went to: never posted again.
    const again = await rejection(redeliverWebhookDelivery(w.db, w.admin, delivery!.id));
    expect(again.code).toBe('CONFLICT');
    expect(again.message).toContain('not redelivered');

    const [other] = await deliveriesOf(wrong.webhook.id);
    await sendDueWebhookDeliveries(w.db, w.h.config, { now, transport: receiver('whsec_not-the-secret'), deliveryIds: [other!.id] });
    expect((await deliveriesOf(wrong.webhook.id))[0]).toMatchObject({ status: 'failed', attempts: 1 });
    expect(await attemptsOf(other!.id)).toEqual([{ response_status: 401, response_body: 'bad signature', error: null }]);
  });

  it("never posts a pending approval request to a webhook's new URL: changing the URL fails it", async () => {
    const hook = await newWebhook(['approval.requested']);
    await runPipeline(await approvalStages());
    await makeWebhookDeliveries(w.db, w.h.config, new Date());
    expect((await deliveriesOf(hook.webhook.id))[0]).toMatchObject({ event_kind: 'approval.requested', status: 'pending' });
    await updateWebhook(w.db, w.h.config, w.admin, hook.webhook.id, { url: 'http://127.0.0.1:9/elsewhere' });
    expect((await deliveriesOf(hook.webhook.id))[0]).toMatchObject({ status: 'failed' });
  });

  it('renders Slack and Teams incoming-webhook messages', async () => {
    const slack = await newWebhook(['approval.requested'], 'slack');
    const teams = await newWebhook(['approval.requested'], 'teams');
    await runPipeline(await approvalStages());
    await makeWebhookDeliveries(w.db, w.h.config, new Date());
    const slackBody = JSON.parse((await deliveriesOf(slack.webhook.id))[0]!.body);
    expect(slackBody.text).toMatch(/^Approval requested: acme\/web task stage\.prod\.task\.deploy/);
    expect(slackBody.blocks[0]).toMatchObject({ type: 'section', text: { type: 'mrkdwn' } });
    expect(slackBody.blocks[1].type).toBe('actions');
    expect(slackBody.blocks[1].elements).toHaveLength(4);
    expect(slackBody.blocks[1].elements[0]).toMatchObject({
      type: 'button',
      text: { type: 'plain_text' },
      url: expect.stringContaining('/webhooks/approvals?token='),
    });
    const teamsBody = JSON.parse((await deliveriesOf(teams.webhook.id))[0]!.body);
    expect(teamsBody).toMatchObject({ '@type': 'MessageCard', '@context': 'https://schema.org/extensions', title: 'Approval requested' });
    expect(teamsBody.summary).toContain('acme/web');
    expect(teamsBody.potentialAction).toHaveLength(4);
    expect(teamsBody.potentialAction[0]).toMatchObject({ '@type': 'OpenUri', targets: [{ os: 'default', uri: expect.stringContaining('token=') }] });
  });

  it('tells deployments started, succeeded and failed, and a failed runbook, only to webhooks subscribed to them', async () => {
    const deployments = await newWebhook(['deployment.started', 'deployment.succeeded', 'deployment.failed']);
    const failures = await newWebhook(['pipeline.failed']);
    const approvals = await newWebhook(['approval.requested']);
    const stages: StageSpec[] = [{ name: 's', tasks: [{ name: 't', actions: [{ alias: 'a' }] }] }];
    const place = { organizationId: w.organizationId, projectId: w.projectId };
    const ok = await runPipeline(stages, 'DEPLOYMENT', place, 'staging');
    await finishAll(ok.id, 'FINISHED');
    const bad = await runPipeline(stages, 'DEPLOYMENT', place, 'staging');
    await finishAll(bad.id, 'FAILED');
    const runbook = await runPipeline(stages);
    await finishAll(runbook.id, 'FAILED');
    await makeWebhookDeliveries(w.db, w.h.config, new Date());
    const told = (await deliveriesOf(deployments.webhook.id)).map((row) => [row.event_kind, (JSON.parse(row.body) as WebhookEvent).pipeline.id]);
    expect(told).toEqual([
      ['deployment.started', ok.id],
      ['deployment.succeeded', ok.id],
      ['deployment.started', bad.id],
      ['deployment.failed', bad.id],
    ]);
    expect((await deliveriesOf(deployments.webhook.id)).map((row) => JSON.parse(row.body).pipeline.environmentName)).toEqual([
      'staging',
      'staging',
      'staging',
      'staging',
    ]);
    expect((await deliveriesOf(failures.webhook.id)).map((row) => [row.event_kind, JSON.parse(row.body).pipeline.id])).toEqual([
      ['pipeline.failed', runbook.id],
    ]);
    // Subscribed to approvals only: none of these events.
    expect(await deliveriesOf(approvals.webhook.id)).toEqual([]);
    // Made once: a second round finds nothing new.
    expect(await makeWebhookDeliveries(w.db, w.h.config, new Date())).toBe(0);
  });

  it("never delivers another organization's events, nor events from before a webhook existed", async () => {
    const other = await createOrganization(w.db, w.admin, { name: `other-${crypto.randomUUID().slice(0, 6)}` });
    const otherProject = await createProject(w.db, w.admin, { organizationId: other.id, name: 'api' });
    const stages: StageSpec[] = [{ name: 's', tasks: [{ name: 't', actions: [{ alias: 'a' }] }] }];
    const before = await runPipeline(stages, 'DEPLOYMENT');
    const mine = await newWebhook(['deployment.started']);
    const theirs = await newWebhook(['deployment.started'], 'generic', other.id);
    const after = await runPipeline(stages, 'DEPLOYMENT');
    const theirPipeline = await runPipeline(stages, 'DEPLOYMENT', { organizationId: other.id, projectId: otherProject.id });
    await makeWebhookDeliveries(w.db, w.h.config, new Date());
    expect((await deliveriesOf(mine.webhook.id)).map((row) => JSON.parse(row.body).pipeline.id)).toEqual([after.id]);
    expect((await deliveriesOf(theirs.webhook.id)).map((row) => JSON.parse(row.body).pipeline.id)).toEqual([theirPipeline.id]);
    expect(JSON.stringify(await deliveriesOf(theirs.webhook.id))).not.toContain(w.organizationId);
    expect(before.id).not.toBe(after.id);
  });

  it('is kicked right after a GraphQL mutation commits: the delivery is made and posted before the cron runs', async () => {
    const hook = await newWebhook(['approval.requested']);
    const templateId = await storeTemplate(
      w.db,
      { organizationId: w.organizationId, projectId: w.projectId },
      template({ stages: await approvalStages(), agentTags: ['linux'] }),
    );
    const created = await w.h.gql(
      'mutation($input: CreatePipelineInput!) { createPipeline(input: $input) { pipeline { id } } }',
      { input: { pipelineTemplateId: globalId('PipelineTemplate', templateId), type: 'RUNBOOK' } },
      { as: ownerIdentity },
    );
    expect(created.errors).toBeUndefined();
    // gql waits for the mutation's background work: the round made the delivery and posted it (nothing listens: a network error, retried later).
    const [delivery] = await deliveriesOf(hook.webhook.id);
    expect(delivery).toMatchObject({ event_kind: 'approval.requested', status: 'pending', attempts: 1 });
    expect((await attemptsOf(delivery!.id))[0]).toMatchObject({ response_status: null });
  });

  it('runs as a cron task: makes and posts the deliveries of every project; a disabled webhook hears nothing', async () => {
    expect(scheduledTasks).toContain(webhookDeliveryTask);
    const hook = await newWebhook(['deployment.started']);
    const disabled = await newWebhook(['deployment.started']);
    const update = await w.h.gql<{ updateWebhook: { webhook: { enabled: boolean; eventKinds: string[]; metadata: { version: string } } } }>(
      'mutation($input: UpdateWebhookInput!) { updateWebhook(input: $input) { webhook { enabled eventKinds metadata { version } } } }',
      {
        input: {
          id: globalId('Webhook', disabled.webhook.id),
          metadata: { version: '1' },
          enabled: false,
          eventKinds: ['DEPLOYMENT_STARTED', 'RELEASE_FINISHED'],
        },
      },
      { as: ownerIdentity },
    );
    expect(update.data!.updateWebhook.webhook).toEqual({ enabled: false, eventKinds: ['DEPLOYMENT_STARTED', 'RELEASE_FINISHED'], metadata: { version: '2' } });
    const stale = await w.h.gql(
      'mutation($input: UpdateWebhookInput!) { updateWebhook(input: $input) { webhook { id } } }',
      { input: { id: globalId('Webhook', disabled.webhook.id), metadata: { version: '1' }, description: 'late' } },
      { as: ownerIdentity },
    );
    expect(stale.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'metadata.version' });
    const updates = await w.db.execute<{ payload: { enabled: boolean } }>(
      sql`select payload from activity_events where target_type = 'webhook' and action = 'update' and target_id = ${disabled.webhook.id}`,
    );
    expect(updates.rows).toEqual([{ payload: { enabled: false, eventKinds: ['deployment.started', 'release.finished'] } }]);

    await runPipeline([{ name: 's', tasks: [{ name: 't', actions: [{ alias: 'a' }] }] }], 'DEPLOYMENT');
    const results = await runScheduledTasks([webhookDeliveryTask], {
      env: w.h.env,
      config: w.h.config,
      logger: createLogger({ level: 'error' }),
      now: new Date(),
    });
    expect(results).toEqual([{ name: 'webhook-deliveries', ok: true }]);
    const [delivery] = await deliveriesOf(hook.webhook.id);
    expect(delivery).toMatchObject({ event_kind: 'deployment.started', attempts: 1 });
    expect(await deliveriesOf(disabled.webhook.id)).toEqual([]);

    // Retention: an ended delivery goes after deliveryRetentionDays; a pending one stays however old.
    const later = new Date(Date.now() + (deliveryRetentionDays + 1) * 24 * 60 * 60 * 1000);
    await w.db.execute(sql`update webhook_deliveries set status = 'failed' where id = ${delivery!.id}`);
    const pendingBefore = (await w.db.execute(sql`select id from webhook_deliveries where status = 'pending'`)).rows.length;
    expect((await pruneWebhookRecords(w.db, later)).deliveries).toBeGreaterThanOrEqual(1);
    expect(await deliveriesOf(hook.webhook.id)).toEqual([]);
    expect((await w.db.execute(sql`select id from webhook_deliveries where status = 'pending'`)).rows.length).toBe(pendingBefore);
  });

  it('does not replay what happened while a webhook was disabled once it is enabled again', async () => {
    const organization = await createOrganization(w.db, w.admin, { name: `quiet-${crypto.randomUUID().slice(0, 6)}` });
    const project = await createProject(w.db, w.admin, { organizationId: organization.id, name: 'api' });
    const place = { organizationId: organization.id, projectId: project.id };
    const stages: StageSpec[] = [{ name: 's', tasks: [{ name: 't', actions: [{ alias: 'a' }] }] }];
    const { webhook } = await newWebhook(['deployment.started'], 'generic', organization.id);
    await updateWebhook(w.db, w.h.config, w.admin, webhook.id, { enabled: false });
    await runPipeline(stages, 'DEPLOYMENT', place);
    await makeWebhookDeliveries(w.db, w.h.config, new Date());
    await updateWebhook(w.db, w.h.config, w.admin, webhook.id, { enabled: true });
    const after = await runPipeline(stages, 'DEPLOYMENT', place);
    await makeWebhookDeliveries(w.db, w.h.config, new Date());
    expect((await deliveriesOf(webhook.id)).map((row) => JSON.parse(row.body).pipeline.id)).toEqual([after.id]);
  });

  it('retries a 500 with exponential backoff, then fails after the last attempt; a redelivery posts again', async () => {
    const hook = await newWebhook(['deployment.started']);
    await runPipeline([{ name: 's', tasks: [{ name: 't', actions: [{ alias: 'a' }] }] }], 'DEPLOYMENT');
    let now = new Date();
    await makeWebhookDeliveries(w.db, w.h.config, now);
    const [delivery] = await deliveriesOf(hook.webhook.id);
    let posts = 0;
    const failing: WebhookTransport = async () => {
      posts++;
      return new Response('x'.repeat(5000), { status: posts % 2 ? 500 : 429 });
    };
    for (let attempt = 1; attempt <= webhookDeliveryPolicy.maxAttempts; attempt++) {
      // Not yet due a moment before its backoff ends.
      if (attempt > 1)
        expect(await sendDueWebhookDeliveries(w.db, w.h.config, { now: new Date(now.getTime() - 1000), transport: failing, deliveryIds: [delivery!.id] })).toBe(
          0,
        );
      expect(await sendDueWebhookDeliveries(w.db, w.h.config, { now, transport: failing, deliveryIds: [delivery!.id] })).toBe(1);
      const [row] = await deliveriesOf(hook.webhook.id);
      expect(row!.attempts).toBe(attempt);
      if (attempt < webhookDeliveryPolicy.maxAttempts) {
        expect(row!.status).toBe('pending');
        expect(new Date(row!.next_attempt_at!).getTime()).toBe(now.getTime() + retryDelayMs(attempt));
        now = new Date(row!.next_attempt_at!);
      } else {
        expect(row).toMatchObject({ status: 'failed', next_attempt_at: null });
      }
    }
    expect(retryDelayMs(1)).toBe(30_000);
    expect(retryDelayMs(3)).toBe(120_000);
    const attempts = await attemptsOf(delivery!.id);
    expect(attempts).toHaveLength(webhookDeliveryPolicy.maxAttempts);
    expect(attempts[0]).toMatchObject({ response_status: 500, response_body: 'x'.repeat(1024) });
    expect(attempts[1]).toMatchObject({ response_status: 429 });

    // Redelivered: pending again, counted anew, and the next post is one more attempt.
    const redelivered = await redeliverWebhookDelivery(w.db, w.admin, delivery!.id);
    expect(redelivered).toMatchObject({ status: 'pending', attempts: 0 });
    await sendDueWebhookDeliveries(w.db, w.h.config, { now: new Date(Date.now() + 1000), transport: receiver(hook.secret), deliveryIds: [delivery!.id] });
    expect((await deliveriesOf(hook.webhook.id))[0]).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(await attemptsOf(delivery!.id)).toHaveLength(webhookDeliveryPolicy.maxAttempts + 1);
    expect((await rejection(redeliverWebhookDelivery(w.db, w.viewer, delivery!.id))).code).toBe('FORBIDDEN');
    expect((await rejection(redeliverWebhookDelivery(w.db, w.outsider, delivery!.id))).code).toBe('NOT_FOUND');
  });

  it('records a network error (nothing listening) as an attempt and retries it; redelivery through GraphQL posts at once', async () => {
    const hook = await newWebhook(['deployment.started']);
    await runPipeline([{ name: 's', tasks: [{ name: 't', actions: [{ alias: 'a' }] }] }], 'DEPLOYMENT');
    const now = new Date();
    await makeWebhookDeliveries(w.db, w.h.config, now);
    const [delivery] = await deliveriesOf(hook.webhook.id);
    // The real fetch, to a loopback port nothing listens on.
    await sendDueWebhookDeliveries(w.db, w.h.config, { now, deliveryIds: [delivery!.id] });
    const [attempt] = await attemptsOf(delivery!.id);
    expect(attempt).toMatchObject({ response_status: null });
    expect(attempt!.error).toBeTruthy();
    expect((await deliveriesOf(hook.webhook.id))[0]).toMatchObject({ status: 'pending', attempts: 1 });

    const result = await w.h.gql<{ redeliverWebhookDelivery: { delivery: { status: string } } }>(
      'mutation($input: RedeliverWebhookDeliveryInput!) { redeliverWebhookDelivery(input: $input) { delivery { id status attempts } } }',
      { input: { id: globalId('WebhookDelivery', delivery!.id) } },
      { as: ownerIdentity },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!.redeliverWebhookDelivery.delivery.status).toBe('PENDING');
    // The mutation's background post ran (gql waits for it): one more attempt, again a network error.
    expect(await attemptsOf(delivery!.id)).toHaveLength(2);
    const viewed = await w.h.gql<{ node: { attemptLog: unknown[] } }>(
      'query($id: ID!) { node(id: $id) { ... on WebhookDelivery { status attempts attemptLog { responseStatus error durationMs } } } }',
      { id: globalId('WebhookDelivery', delivery!.id) },
      { as: viewerIdentity },
    );
    expect(viewed.data!.node.attemptLog).toHaveLength(2);
  });
});

describe('approval links', () => {
  let ruleName: string;
  let nodeId: string;
  let pipelineId: string;
  let links: NonNullable<WebhookEvent['approvalLinks']>;
  let hookId: string;

  const tokenOf = (url: string) => new URL(url).searchParams.get('token')!;
  const linkOf = (userId: string) => links.find((link) => link.approver.id === userId)!;
  const post = (token: string) =>
    w.h.request('/webhooks/approvals', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
    });
  const nodeStatus = async () => (await listPipelineNodes(w.db, w.admin, pipelineId)).find((node) => node.id === nodeId)!.status;

  beforeAll(async () => {
    ruleName = `two-${crypto.randomUUID().slice(0, 6)}`;
    await w.approvalRule(ruleName, 2);
    const hook = await newWebhook(['approval.requested']);
    hookId = hook.webhook.id;
    const pipeline = await runPipeline([
      { name: 'prod', tasks: [{ name: 'deploy', approvalRules: [`prn:approval_rule:acme/${ruleName}`], actions: [{ alias: 'a' }] }] },
    ]);
    pipelineId = pipeline.id;
    await makeWebhookDeliveries(w.db, w.h.config, new Date());
    const event = JSON.parse((await deliveriesOf(hook.webhook.id)).at(-1)!.body) as WebhookEvent;
    links = event.approvalLinks!;
    nodeId = event.node!.id;
  });

  it('shows a confirmation page on GET without acting, approves once on POST (recorded as the approver), and refuses a second use', async () => {
    const approver = w.teamMembers[0]!;
    const token = tokenOf(linkOf(w.userId(approver)).approveUrl);
    const page = await w.h.request(`/webhooks/approvals?token=${token}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<form method="post" action="/webhooks/approvals">');
    expect(html).toContain((approver.principal as { username: string }).username);
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    // Prefetched twice: still nothing approved, the link still unused.
    await (await w.h.request(`/webhooks/approvals?token=${token}`)).text();
    const approvalsBefore = await w.db.execute(sql`select 1 from pipeline_approvals where node_id = ${nodeId}`);
    expect(approvalsBefore.rows).toHaveLength(0);

    const approved = await post(token);
    expect(approved.status).toBe(200);
    expect(await approved.text()).toContain('Approved');
    const approvals = await w.db.execute<{ user_id: string }>(sql`select user_id from pipeline_approvals where node_id = ${nodeId} and revoked_at is null`);
    expect(approvals.rows).toEqual([{ user_id: w.userId(approver) }]);
    const activity = await w.db.execute<{ initiator_id: string }>(
      sql`select initiator_id from activity_events where action = 'approve' and target_id = ${nodeId}`,
    );
    expect(activity.rows).toEqual([{ initiator_id: w.userId(approver) }]);

    const second = await post(token);
    expect(second.status).toBe(409);
    expect(await second.text()).toContain('already used');
    expect((await w.h.request(`/webhooks/approvals?token=${token}`)).status).toBe(409);
    expect(await nodeStatus()).toBe('APPROVAL_PENDING');
  });

  it("keeps the links out of what the API shows of a delivery (they are the approvers' credentials)", async () => {
    const shown = await w.h.gql(
      'query($id: ID!) { node(id: $id) { ... on Webhook { deliveries(first: 1) { edges { node { body } } } } } }',
      { id: globalId('Webhook', hookId) },
      { as: ownerIdentity },
    );
    expect(shown.errors).toBeUndefined();
    expect(shown.text).toContain('token=[redacted]');
    for (const link of links) expect(shown.text).not.toContain(tokenOf(link.approveUrl));
  });

  it('refuses an expired link, a tampered one, and one whose approver was removed from the rule', async () => {
    const expired = await signApprovalLink(w.h.config, {
      userId: w.userId(w.teamMembers[1]!),
      nodeId,
      organizationId: w.organizationId,
      expiresAt: Math.floor(Date.now() / 1000) - 1,
    });
    const expiredAnswer = await post(expired);
    expect(expiredAnswer.status).toBe(400);
    expect(await expiredAnswer.text()).toContain('expired');

    const genuine = tokenOf(linkOf(w.userId(w.teamMembers[1]!)).approveUrl);
    const [claims, signature] = genuine.split('.');
    // Another user's id put into the claims keeps the old signature: refused.
    const forgedClaims = btoa(JSON.stringify({ ...JSON.parse(atob(claims!.replaceAll('-', '+').replaceAll('_', '/'))), u: w.userId(w.owner) }))
      .replaceAll('+', '-')
      .replaceAll('/', '_')
      .replace(/=+$/, '');
    // A signature with its first character changed (always another MAC; changing the last two could leave it equal).
    const otherSignature = `${signature!.startsWith('A') ? 'B' : 'A'}${signature!.slice(1)}`;
    for (const tampered of [`${forgedClaims}.${signature}`, `${claims}.${otherSignature}`, `${claims}`, 'x.y.z']) {
      const answer = await post(tampered);
      expect(answer.status, tampered).toBe(400);
      expect(await answer.text()).toContain('not valid');
      expect((await w.h.request(`/webhooks/approvals?token=${encodeURIComponent(tampered)}`)).status).toBe(400);
    }

    // The directly named approver is dropped from the rule after the link was sent: refused, link not spent.
    const [rule] = (await w.db.execute<{ id: string }>(sql`select id from approval_rules where name = ${ruleName}`)).rows;
    await updateApprovalRule(w.db, w.admin, rule!.id, { principals: { teams: ['sre'] }, approvalsRequired: 1 });
    const removed = await post(tokenOf(linkOf(w.userId(w.directApprover)).approveUrl));
    expect(removed.status).toBe(403);
    expect(await removed.text()).toContain('not an approver');
    const approvals = await w.db.execute(sql`select 1 from pipeline_approvals where node_id = ${nodeId} and user_id = ${w.userId(w.directApprover)}`);
    expect(approvals.rows).toHaveLength(0);

    // A second team member's link still works, and the node moves on.
    expect((await post(genuine)).status).toBe(200);
    expect(await nodeStatus()).not.toBe('APPROVAL_PENDING');
  });
});
