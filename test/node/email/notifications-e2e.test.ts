// Notifications end to end: a real Worker (wrangler's dev server) configured with the smtp plugin
// sends to a real SMTP server (smtp-server, with AUTH) over workerd's own `cloudflare:sockets`. Each
// kind is caused through GraphQL (jobs are ended through the job service, as the agents' transport
// does), the cron trigger runs (`/__scheduled`), and the message arrives with the right recipient
// and subject; a preference turned off sends nothing; a refusing server is retried, then
// dead-lettered, as the emailOutbox query shows. Plain SMTP here: workerd trusts only public CAs, so
// TLS is covered by smtp-plugin.test.ts over Node sockets.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { hashPassword } from '../../../src/auth/passwords';
import { loadCaller } from '../../../src/auth/caller';
import type { Caller } from '../../../src/auth/rbac';
import { loadConfig, type PhobosConfig } from '../../../src/config/load';
import { createDatabase } from '../../../src/db/client';
import { createApprovalRule } from '../../../src/domain/approval-rules/service';
import { finishJob, markJobRunning } from '../../../src/domain/jobs/service';
import { addMember } from '../../../src/domain/memberships/service';
import { createOrganization } from '../../../src/domain/organizations/service';
import { createProject } from '../../../src/domain/projects/service';
import { databaseVars, startDevWorker } from '../../support/dev-worker';
import { startSmtpServer, type ReceivedEmail, type TestSmtpServer } from '../../support/smtp-server';
import { signInWithPassword, startWorkerServer, type WorkerServer } from '../../support/worker-server';

const account = { username: 'phobos-mailer', password: 'smtp-password-for-e2e' };
let smtp: TestSmtpServer;
let server: WorkerServer;
let db: ReturnType<typeof createDatabase>['http'];
let config: PhobosConfig;
let organizationId: string;
let projectId: string;

interface Person {
  id: string;
  username: string;
  email: string;
  token: string;
}
const people = {} as Record<'manager' | 'approver' | 'developer' | 'viewer' | 'optout', Person>;

const globalId = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString('base64');
const rawId = (gid: string) => Buffer.from(gid, 'base64').toString().split(':')[1]!;

function smtpVars(password: string): Record<string, string> {
  return {
    PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE: 'smtp',
    PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_HOST: '127.0.0.1',
    PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_PORT: String(smtp.port),
    PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_FROM_ADDRESS: 'phobos@phobos.example.com',
    PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_USERNAME: account.username,
    PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_PASSWORD: password,
    PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_DISABLE_TLS: 'true',
    PHOBOS_EMAIL_FOOTER: 'Phobos at acme',
    PHOBOS_HTTP_RATE_LIMIT: '0',
  };
}

// biome-ignore lint/suspicious/noExplicitAny: answers are read field by field; typing each operation's shape would restate the schema.
type Answer = any;

async function gql(
  token: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<{ data?: Answer; errors?: { message: string; extensions?: { code?: string } }[] }> {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as never;
}

async function ok(token: string, query: string, variables: Record<string, unknown> = {}): Promise<Answer> {
  const result = await gql(token, query, variables);
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data;
}

async function person(username: string): Promise<Person> {
  const password = `password of ${username}`;
  const email = `${username}@acme.example`;
  const { rows } = await server.database.query<{ id: string }>('insert into users (username, email, password_hash) values ($1, $2, $3) returning id', [
    username,
    email,
    hashPassword(password),
  ]);
  const tokens = await signInWithPassword(server, username, password);
  return { id: rows[0]!.id, username, email, token: tokens.access_token };
}

/** Runs the cron trigger, which expands queued notifications and delivers the outbox. */
async function cron(): Promise<void> {
  const response = await fetch(`${server.url}/__scheduled?cron=*+*+*+*+*`);
  expect(response.status).toBe(200);
  await response.text();
}

/** Runs the cron until `count` more messages arrived (the work outlives the trigger's response). */
async function deliveredAfter(before: number, count: number): Promise<ReceivedEmail[]> {
  const deadline = Date.now() + 20_000;
  await cron();
  while (smtp.received.length < before + count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    if (smtp.received.length < before + count) await cron();
  }
  if (smtp.received.length < before + count) {
    const outbox = await server.database.query('select recipient, subject, status, attempts, last_error from email_outbox order by created_at');
    const queue = await server.database.query('select source, payload from notification_queue');
    throw new Error(`${smtp.received.length - before} of ${count} arrived; outbox ${JSON.stringify(outbox.rows)}; queue ${JSON.stringify(queue.rows)}`);
  }
  // Nothing more than expected arrives (one more run, a moment later).
  await cron();
  await new Promise((resolve) => setTimeout(resolve, 500));
  return smtp.received.slice(before);
}

const byRecipient = (mails: ReceivedEmail[]) => Object.fromEntries(mails.map((mail) => [mail.to.join(','), mail.subject]));

async function endQueuedJobs(where: { pipelineId?: string; releaseId?: string }, status: 'FINISHED' | 'FAILED'): Promise<number> {
  const { rows } = await db.execute<{ id: string }>(sql`
    select j.id from jobs j join pipelines p on p.id = j.pipeline_id
    where j.status = 'QUEUED' and (p.id = ${where.pipelineId ?? null}::uuid or p.release_id = ${where.releaseId ?? null}::uuid)`);
  for (const job of rows) {
    await markJobRunning(db, config, job.id);
    await finishJob(db, config, job.id, { status });
  }
  return rows.length;
}

beforeAll(async () => {
  smtp = await startSmtpServer({ tls: 'none', account });
  server = await startWorkerServer(smtpVars(account.password), { testScheduled: true, apiOnly: true });
  const bridge = inject('database').bridgeUrl;
  db = createDatabase({ connectionString: server.database.url, proxyUrl: bridge }).http;
  config = loadConfig(databaseVars(server.database.url, bridge));
  const adminId = (await server.database.query<{ id: string }>('select id from users where email = $1', [server.admin.email])).rows[0]!.id;
  const admin: Caller = await loadCaller(db, { kind: 'user', userId: adminId, username: 'admin', email: '', isAdmin: true, via: 'access_token' });
  organizationId = (await createOrganization(db, admin, { name: 'acme' })).id;
  projectId = (await createProject(db, admin, { organizationId, name: 'web' })).id;
  for (const [name, role] of [
    ['manager', 'release_manager'],
    ['approver', 'developer'],
    ['developer', 'developer'],
    ['viewer', 'viewer'],
    ['optout', 'developer'],
  ] as const) {
    people[name] = await person(name);
    await addMember(db, admin, { organizationId, userId: people[name].id, role });
  }
  const team = await db.execute<{ id: string }>(sql`insert into teams (organization_id, name) values (${organizationId}, 'sre') returning id`);
  await db.execute(sql`insert into team_members (team_id, user_id) values (${team.rows[0]!.id}, ${people.approver.id})`);
  await createApprovalRule(db, admin, { organizationId, name: 'approvers', approvalsRequired: 1, principals: { teams: ['sre'] } });
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await smtp?.close();
});

async function template(name: string, hcl: string): Promise<string> {
  const data = await ok(
    people.manager.token,
    `mutation($project: ID!, $name: String!, $hcl: String!) { createPipelineTemplate(input: { projectId: $project, name: $name, versioned: true,
       semanticVersion: "1.0.0", hclData: $hcl }) { pipelineTemplate { id } } }`,
    { project: globalId('Project', projectId), name, hcl },
  );
  return data.createPipelineTemplate.pipelineTemplate.id as string;
}

async function runbook(templateId: string): Promise<string> {
  const data = await ok(people.manager.token, 'mutation($t: ID!) { createPipeline(input: { pipelineTemplateId: $t, type: RUNBOOK }) { pipeline { id } } }', {
    t: templateId,
  });
  return rawId(data.createPipeline.pipeline.id);
}

describe('notifications over the smtp plugin, end to end', () => {
  it('lets each user turn a kind off in a project, only for themselves', async () => {
    const set = `mutation($project: ID) { setNotificationPreference(input: { kind: MANUAL_TASK_WAITING, projectId: $project, enabled: false }) {
      preference { kind enabled project { name } } } }`;
    const data = await ok(people.optout.token, set, { project: globalId('Project', projectId) });
    expect(data.setNotificationPreference.preference).toEqual({ kind: 'MANUAL_TASK_WAITING', enabled: false, project: { name: 'web' } });
    expect((await ok(people.optout.token, '{ notificationPreferences { kind enabled } }')).notificationPreferences).toEqual([
      { kind: 'MANUAL_TASK_WAITING', enabled: false },
    ]);
    expect((await ok(people.manager.token, '{ notificationPreferences { kind } }')).notificationPreferences).toEqual([]);
    // A project the caller cannot see does not exist for it.
    const hidden = await gql(people.optout.token, set, { project: globalId('Project', crypto.randomUUID()) });
    expect(hidden.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('mails the approvers when a task waits for approval, and the pipeline runners (not the opted-out) when a manual task waits', async () => {
    const before = smtp.received.length;
    const t = await template(
      'gates',
      `stage "ship" {
        task "approve_me" {
          approval_rules = ["prn:approval_rule:acme/approvers"]
          action "exec_command" {
            command = "ship"
          }
        }
        task "flip" {
          when = "manual"
          action "exec_command" {
            command = "flip"
          }
        }
      }`,
    );
    await runbook(t);
    // The admin created the organization, which made it an owner: it may run pipelines too.
    const mails = await deliveredAfter(before, 5);
    const subjects = byRecipient(mails);
    expect(subjects).toEqual({
      [people.approver.email]: expect.stringMatching(/^\[Phobos\] acme\/web: /),
      [people.manager.email]: '[Phobos] acme/web: stage.ship.task.flip is waiting to be started',
      [people.developer.email]: '[Phobos] acme/web: stage.ship.task.flip is waiting to be started',
      [server.admin.email]: '[Phobos] acme/web: stage.ship.task.flip is waiting to be started',
    });
    // The approver is also a developer: one mail per kind.
    const approverMails = mails
      .filter((mail) => mail.to[0] === people.approver.email)
      .map((mail) => mail.subject)
      .sort();
    expect(approverMails).toEqual([
      '[Phobos] acme/web: approval requested for stage.ship.task.approve_me in a pipeline',
      '[Phobos] acme/web: stage.ship.task.flip is waiting to be started',
    ]);
    expect(mails).toHaveLength(5);
    expect(mails.every((mail) => mail.from === 'phobos@phobos.example.com' && mail.text.endsWith('\n\n-- \nPhobos at acme'))).toBe(true);
    expect(mails.some((mail) => [people.viewer.email, people.optout.email].includes(mail.to[0]!))).toBe(false);
  });

  it('mails the user who started a pipeline when it fails', async () => {
    const before = smtp.received.length;
    const t = await template('fails', 'stage "build" {\n  task "compile" {\n    action "exec_command" {\n      command = "make"\n    }\n  }\n}\n');
    const pipelineId = await runbook(t);
    expect(await endQueuedJobs({ pipelineId }, 'FAILED')).toBe(1);
    const mails = await deliveredAfter(before, 1);
    expect(byRecipient(mails)).toEqual({ [people.manager.email]: '[Phobos] acme/web: pipeline failed' });
  });

  it('mails a release’s participants when its due date approaches, when it passes, and when it finishes', async () => {
    const before = smtp.received.length;
    const deploy = await template('deploy', 'stage "deploy" {\n  task "roll_out" {\n    action "exec_command" {\n      command = "deploy"\n    }\n  }\n}\n');
    const lifecycle = await ok(
      people.manager.token,
      `mutation($org: ID!, $hcl: String!) { createReleaseLifecycle(input: { organizationId: $org, name: "standard", versioned: true,
         semanticVersion: "1.0.0", hclData: $hcl }) { releaseLifecycle { id } } }`,
      { org: globalId('Organization', organizationId), hcl: 'stage "dev" {\n  deployment {\n    environment = "dev"\n  }\n}\n' },
    );
    const due = new Date(Date.now() + 3600_000).toISOString();
    const created = await ok(
      people.manager.token,
      `mutation($project: ID!, $template: ID!, $lifecycle: ID!, $due: Time!) { createRelease(input: { projectId: $project, semanticVersion: "2.4.0",
         dueDate: $due, pipelineTemplateId: $template, lifecycleId: $lifecycle }) { release { id } } }`,
      { project: globalId('Project', projectId), template: deploy, lifecycle: lifecycle.createReleaseLifecycle.releaseLifecycle.id, due },
    );
    const releaseId = rawId(created.createRelease.release.id);
    for (const user of [people.approver, people.viewer]) {
      await ok(people.manager.token, 'mutation($r: ID!, $u: ID!) { addReleaseParticipant(input: { releaseId: $r, userId: $u }) { participant { name } } }', {
        r: created.createRelease.release.id,
        u: globalId('User', user.id),
      });
    }
    // The due date is within the warning window: one notice to each participant.
    const dueMails = await deliveredAfter(before, 2);
    expect(byRecipient(dueMails)).toEqual({
      [people.approver.email]: '[Phobos] acme/web: release 2.4.0 is due soon',
      [people.viewer.email]: '[Phobos] acme/web: release 2.4.0 is due soon',
    });
    // Time passes (the due date moved into the past stands in for it): the overdue notice follows, once.
    const overdueFrom = smtp.received.length;
    await server.database.query(`update releases set due_date = now() - interval '1 minute' where id = $1`, [releaseId]);
    const overdue = await deliveredAfter(overdueFrom, 2);
    expect(byRecipient(overdue)).toEqual({
      [people.approver.email]: '[Phobos] acme/web: release 2.4.0 is past its due date',
      [people.viewer.email]: '[Phobos] acme/web: release 2.4.0 is past its due date',
    });
    const middle = smtp.received.length;
    expect(await endQueuedJobs({ releaseId }, 'FINISHED')).toBe(1);
    const finished = await deliveredAfter(middle, 2);
    expect(byRecipient(finished)).toEqual({
      [people.approver.email]: '[Phobos] acme/web: release 2.4.0 succeeded',
      [people.viewer.email]: '[Phobos] acme/web: release 2.4.0 succeeded',
    });
  });

  it('mails a failed deployment of a release, and the release failing with it', async () => {
    const before = smtp.received.length;
    const deploy = await template(
      'deploy-again',
      'stage "deploy" {\n  task "roll_out" {\n    action "exec_command" {\n      command = "deploy"\n    }\n  }\n}\n',
    );
    const lifecycle = await ok(
      people.manager.token,
      `mutation($org: ID!, $hcl: String!) { createReleaseLifecycle(input: { organizationId: $org, name: "single", versioned: true,
         semanticVersion: "1.0.0", hclData: $hcl }) { releaseLifecycle { id } } }`,
      { org: globalId('Organization', organizationId), hcl: 'stage "dev" {\n  deployment {\n    environment = "dev"\n  }\n}\n' },
    );
    const created = await ok(
      people.manager.token,
      `mutation($project: ID!, $template: ID!, $lifecycle: ID!) { createRelease(input: { projectId: $project, semanticVersion: "2.5.0",
         pipelineTemplateId: $template, lifecycleId: $lifecycle }) { release { id } } }`,
      { project: globalId('Project', projectId), template: deploy, lifecycle: lifecycle.createReleaseLifecycle.releaseLifecycle.id },
    );
    await ok(people.manager.token, 'mutation($r: ID!, $u: ID!) { addReleaseParticipant(input: { releaseId: $r, userId: $u }) { participant { name } } }', {
      r: created.createRelease.release.id,
      u: globalId('User', people.approver.id),
    });
    expect(await endQueuedJobs({ releaseId: rawId(created.createRelease.release.id) }, 'FAILED')).toBe(1);
    const mails = await deliveredAfter(before, 3);
    expect(mails.map((mail) => `${mail.to.join(',')}: ${mail.subject}`).sort()).toEqual([
      `${people.approver.email}: [Phobos] acme/web: deployment to dev failed`,
      `${people.approver.email}: [Phobos] acme/web: release 2.5.0 failed`,
      `${people.manager.email}: [Phobos] acme/web: deployment to dev failed`,
    ]);
  });

  it('retries a message the server refuses with backoff, then keeps it as a dead letter that admins see', async () => {
    smtp.refuseMail({ code: 451, message: 'Mailbox temporarily unavailable' });
    try {
      const before = smtp.received.length;
      const t = await template('fails-again', 'stage "build" {\n  task "compile" {\n    action "exec_command" {\n      command = "make"\n    }\n  }\n}\n');
      const pipelineId = await runbook(t);
      await endQueuedJobs({ pipelineId }, 'FAILED');
      const attempts = async () =>
        (
          await server.database.query<{ attempts: number; status: string; last_error: string | null; wait_s: number }>(
            `select attempts, status, last_error, extract(epoch from next_attempt_at - now())::int as wait_s from email_outbox where recipient = $1 order by created_at desc limit 1`,
            [people.manager.email],
          )
        ).rows[0];
      const waitFor = async (check: (row: Awaited<ReturnType<typeof attempts>>) => boolean) => {
        const deadline = Date.now() + 20_000;
        for (;;) {
          await cron();
          const row = await attempts();
          if (check(row)) return row!;
          if (Date.now() > deadline) throw new Error(`outbox row stayed ${JSON.stringify(row)}`);
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      };
      const first = await waitFor((row) => row?.attempts === 1 && row.last_error !== null);
      expect(first).toMatchObject({ status: 'PENDING', last_error: '451 Mailbox temporarily unavailable' });
      // The first retry waits a minute (the next cron), each next one twice as long.
      expect(first.wait_s).toBeGreaterThan(50);
      expect(first.wait_s).toBeLessThanOrEqual(60);
      for (let attempt = 2; attempt <= 5; attempt++) {
        // Stand in for the backoff's wait: make the message due now.
        await server.database.query('update email_outbox set next_attempt_at = now() where recipient = $1 and status = $2', [people.manager.email, 'PENDING']);
        // Its outcome recorded: the next attempt due after the backoff (a claim's lease would show 300 s).
        const backoff = 60 * 2 ** (attempt - 1);
        const row = await waitFor((r) => r?.attempts === attempt && (attempt === 5 ? r.status === 'DEAD' : Math.abs(r.wait_s - backoff) <= 10));
        expect(row.last_error).toBe('451 Mailbox temporarily unavailable');
      }
      expect(smtp.received.length).toBe(before);
      const admin = await signInWithPassword(server, server.admin.email, server.admin.password);
      const dead = await ok(admin.access_token, '{ emailOutbox(status: DEAD, first: 5) { recipient subject notificationKind status attempts lastError } }');
      expect(dead.emailOutbox).toEqual([
        {
          recipient: people.manager.email,
          subject: '[Phobos] acme/web: pipeline failed',
          notificationKind: 'PIPELINE_FAILED',
          status: 'DEAD',
          attempts: 5,
          lastError: '451 Mailbox temporarily unavailable',
        },
      ]);
      const refused = await gql(people.manager.token, '{ emailOutbox(first: 5) { recipient } }');
      expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const tooMany = await gql(admin.access_token, '{ emailOutbox(first: 1000) { recipient } }');
      expect(tooMany.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    } finally {
      smtp.refuseMail(null);
    }
  });

  it('records the server’s 535 when the Worker’s SMTP password is wrong, and retries later', async () => {
    // A second Worker on the same database, configured with the wrong password; only its cron runs.
    const wrong = await startDevWorker({
      databaseUrl: server.database.url,
      proxyUrl: inject('database').bridgeUrl,
      testScheduled: true,
      script: { path: 'src/worker.ts', config: 'wrangler.noui.toml' },
      vars: smtpVars('not-the-smtp-password'),
    });
    try {
      const before = smtp.received.length;
      const t = await template(
        'fails-with-wrong-password',
        'stage "build" {\n  task "compile" {\n    action "exec_command" {\n      command = "make"\n    }\n  }\n}\n',
      );
      await endQueuedJobs({ pipelineId: await runbook(t) }, 'FAILED');
      const deadline = Date.now() + 20_000;
      let row: { status: string; attempts: number; last_error: string | null } | undefined;
      while (Date.now() < deadline) {
        await (await fetch(`${wrong.url}/__scheduled?cron=*+*+*+*+*`)).text();
        row = (
          await server.database.query<{ status: string; attempts: number; last_error: string | null }>(
            `select status, attempts, last_error from email_outbox where subject = '[Phobos] acme/web: pipeline failed' and status = 'PENDING'`,
          )
        ).rows[0];
        if (row?.last_error) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(row).toEqual({ status: 'PENDING', attempts: 1, last_error: '535 Authentication credentials invalid' });
      expect(smtp.received.length).toBe(before);
      // With the right password (the first Worker), the retry delivers it once it is due.
      await server.database.query(`update email_outbox set next_attempt_at = now() where status = 'PENDING'`);
      const mails = await deliveredAfter(before, 1);
      expect(byRecipient(mails)).toEqual({ [people.manager.email]: '[Phobos] acme/web: pipeline failed' });
    } finally {
      await wrong.stop();
    }
  });
});
