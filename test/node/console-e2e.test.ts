// The console end to end, in real headless Chromium (Debian's `chromium`, driven by playwright-core)
// against a real Worker (wrangler's dev server) serving the built console (web/dist, `npm run
// build:web` first) as its static assets, with a local agent running the pipelines. The same build
// is also served from a second origin as Cloudflare Pages serves it (index.html naming the API,
// scripts/deploy/console-html.ts), talking to the API through CORS. Screenshots of each main page,
// light and dark, desktop and phone width, are written under test-output/console/.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { consoleForOrigin } from '../../scripts/deploy/console-html';
import { ensureInternalAgents } from '../../scripts/local-stack/internal-agents';
import { internalAgentCredential } from '../../src/auth/internal-agent-credentials';
import { freePort } from '../setup/free-port';
import { type AgentProcess, startAgentProcess } from '../support/agent-process';
import { launchChromium, seriousAxeViolations, serveLikePages, signInThroughConsole, type StaticSite } from '../support/console-browser';
import { devWorkerKeyEncryptionKey } from '../support/dev-worker';
import { signInWithPassword, startWorkerServer, type WorkerServer } from '../support/worker-server';

// biome-ignore lint/suspicious/noExplicitAny: answers are read field by field; typing each operation's shape would restate the schema.
type Answer = any;

const projectRoot = new URL('../..', import.meta.url).pathname;
const webDist = join(projectRoot, 'web', 'dist');
const screenshots = join(projectRoot, 'test-output', 'console');

let server: WorkerServer;
let pages: StaticSite;
let pagesDir: string;
let browser: Browser;
let agent: AgentProcess | undefined;
let adminToken: string | undefined;
let adminTokenAt = 0;
let organizationId: string;
let projectId: string;
const viewer = { username: 'vera', email: 'vera@phobos.test', password: 'viewer-password-for-tests' };

/** The administrator's access token for setting things up over GraphQL, taken again before it expires (5 minutes). */
async function adminAccess(): Promise<string> {
  if (adminToken !== undefined && Date.now() - adminTokenAt < 4 * 60_000) return adminToken;
  const fresh = (await signInWithPassword(server, server.admin.email, server.admin.password)).access_token;
  adminToken = fresh;
  adminTokenAt = Date.now();
  return fresh;
}

async function api(query: string, variables: Record<string, unknown> = {}): Promise<Answer> {
  const token = await adminAccess();
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: Answer; errors?: unknown };
  expect(body.errors, `${query}\n${JSON.stringify(body.errors)}`).toBeUndefined();
  return body.data;
}

const seededTemplate = `
stage "build" {
  task "compile" {
    action "exec_command" {
      alias   = "make"
      command = "printf '\\\\033[32mcompiling\\\\033[0m\\\\n'; for i in 1 2 3 4 5; do echo line $i; done; echo done"
    }
  }
}`;
const seeded = { templateId: '', pipelineId: '', jobId: '', releaseId: '' };

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const contexts: BrowserContext[] = [];

/** A fresh browser profile (no cookies, no storage) at desktop width, light unless asked. */
async function newPage(options: { colorScheme?: 'light' | 'dark'; width?: number } = {}): Promise<Page> {
  const width = options.width ?? 1280;
  const context = await browser.newContext({
    viewport: { width, height: width < 600 ? 844 : 900 },
    colorScheme: options.colorScheme ?? 'light',
    ...(width < 600 ? { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : {}),
  });
  context.setDefaultTimeout(15_000);
  contexts.push(context);
  return context.newPage();
}

/** Waits until no loading state shows (lazy chunks and queries answered), then for a quiet frame. */
async function settled(page: Page): Promise<void> {
  await page.locator('h1').first().waitFor();
  await page.waitForFunction(() => document.querySelectorAll('.state.loading').length === 0);
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
}

/** The visible error panels' text: a main page showing an API error is a failure. */
async function errorPanels(page: Page): Promise<string[]> {
  return page.locator('.state.error').allInnerTexts();
}

beforeAll(async () => {
  const index = readFileSync(join(webDist, 'index.html'), 'utf8');
  if (index.includes('/src/main.tsx')) throw new Error('web/dist is not the console build: run `npm run build:web` first');
  // The Pages origin is known before the Worker starts, so the API names it as its UI (the sign-in
  // redirect) and allows it through CORS.
  const pagesPort = await freePort();
  const pagesOrigin = `http://127.0.0.1:${pagesPort}`;
  const monitoring = inject('monitoring');
  server = await startWorkerServer({
    PHOBOS_UI_URL: pagesOrigin,
    PHOBOS_CORS_ALLOWED_ORIGINS: pagesOrigin,
    // The infrastructure page's health and alerts, from the run's real Prometheus and Alertmanager.
    PHOBOS_PROMETHEUS_URL: monitoring.prometheusUrl,
    PHOBOS_ALERTMANAGER_URL: monitoring.alertmanagerUrl,
  });
  pagesDir = consoleForOrigin(webDist, server.url);
  pages = await serveLikePages(pagesDir, pagesPort);
  browser = await launchChromium();
  rmSync(screenshots, { recursive: true, force: true });
  mkdirSync(screenshots, { recursive: true });

  organizationId = (await api('mutation { createOrganization(input: { name: "e2e", description: "The browser suite" }) { organization { id } } }'))
    .createOrganization.organization.id;
  projectId = (
    await api('mutation($input: CreateProjectInput!) { createProject(input: $input) { project { id } } }', {
      input: { organizationId, name: 'console', description: 'Driven through the console' },
    })
  ).createProject.project.id;
  const { createUser } = await api('mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } } }', { input: viewer });
  await api('mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id } } }', {
    input: { organizationId, userId: createUser.user.id, role: 'viewer' },
  });

  // The local agent that runs the pipelines, as `npm start` runs its own.
  await ensureInternalAgents(server.database.url, [{ name: 'console-local', dispatcherType: 'local', dispatcherData: {} }]);
  agent = startAgentProcess([], {
    PHOBOS_AGENT_API_URL: server.url,
    PHOBOS_AGENT: 'console-local',
    PHOBOS_AGENT_INTERNAL_CREDENTIAL: await internalAgentCredential(devWorkerKeyEncryptionKey, 'console-local'),
  });

  // A pipeline run by the agent, for the pipeline and job log pages.
  const template = await api('mutation($input: CreatePipelineTemplateInput!) { createPipelineTemplate(input: $input) { pipelineTemplate { id } } }', {
    input: { projectId, name: 'seeded', versioned: false, hclData: seededTemplate },
  });
  seeded.templateId = template.createPipelineTemplate.pipelineTemplate.id;
  const created = await api('mutation($input: CreatePipelineInput!) { createPipeline(input: $input) { pipeline { id } } }', {
    input: { pipelineTemplateId: template.createPipelineTemplate.pipelineTemplate.id, type: 'RUNBOOK' },
  });
  seeded.pipelineId = created.createPipeline.pipeline.id;
  seeded.releaseId = (
    await api('mutation($input: CreateReleaseInput!) { createRelease(input: $input) { release { id } } }', {
      input: {
        projectId,
        semanticVersion: '1.0.0',
        pipelineTemplateId: template.createPipelineTemplate.pipelineTemplate.id,
        notes: '# 1.0.0\n\nThe **first** release.',
      },
    })
  ).createRelease.release.id;
  seeded.jobId = await until('the seeded pipeline to finish', async () => {
    const { pipeline } = await api('query($id: ID!) { pipeline(id: $id) { status jobs { id } } }', { id: seeded.pipelineId });
    return pipeline.status === 'SUCCEEDED' ? pipeline.jobs[0].id : undefined;
  });
}, 180_000);

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  await agent?.stop();
  await pages?.stop();
  if (pagesDir) rmSync(pagesDir, { recursive: true, force: true });
  await server?.stop();
});

describe('the Worker serves the console', () => {
  it('answers deep links and /auth/callback with the console, and API paths with the API', async () => {
    for (const path of [
      '/organizations/e2e/projects/console?tab=members',
      '/pipelines/00000000-0000-4000-8000-000000000000',
      '/auth/callback?code=x&state=y',
    ]) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type'), path).toMatch(/text\/html/);
      const html = await response.text();
      expect(html, path).toContain('<div id="root">');
      // Same origin: the API's URL is left empty.
      expect(html, path).toContain('<meta name="phobos-api-url" content="" />');
    }
    // An external provider's callback is the Worker's, not the console's.
    const external = await fetch(`${server.url}/auth/callback/github?code=x&state=y`, { redirect: 'manual' });
    expect(await external.text()).not.toContain('<div id="root">');
    const schema = await fetch(`${server.url}/graphql/schema`);
    expect(schema.headers.get('content-type')).not.toMatch(/text\/html/);
  });

  it('serves the same build from the Pages origin, index.html naming the API, deep links included', async () => {
    for (const path of ['/', '/organizations/e2e', '/auth/callback?code=x']) {
      const response = await fetch(`${pages.url}${path}`);
      expect(response.status, path).toBe(200);
      expect(await response.text(), path).toContain(`<meta name="phobos-api-url" content="${server.url}" />`);
    }
  });
});

describe('signing in', () => {
  it("goes through the provider's sign-in page and back to the deep link; the tokens stay in memory", async () => {
    const page = await newPage();
    const visited: string[] = [];
    page.on('framenavigated', (frame) => {
      // (The router's own history updates report the same address again.)
      const path = new URL(frame.url()).pathname;
      if (frame === page.mainFrame() && visited.at(-1) !== path) visited.push(path);
    });
    await signInThroughConsole(page, server.url, '/organizations/e2e?tab=members', server.admin.email, server.admin.password);
    expect(visited, JSON.stringify(visited)).toEqual(['/organizations/e2e', '/oauth/authorize', '/auth/callback', '/organizations/e2e']);
    await page.getByRole('heading', { level: 1, name: 'e2e' }).waitFor();
    // The tab asked for is the one open.
    await page.getByRole('tab', { name: 'Members', selected: true }).waitFor();
    // Nothing of the session is written to storage (only a sign-in in flight uses sessionStorage).
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
    expect(stored).not.toMatch(/eyJ|refresh|access/i);
    // A reload forgets the tokens: the provider's page again, then back where the user was.
    await page.reload();
    await page.getByLabel('Email or username').waitFor();
    expect(new URL(page.url()).pathname).toBe('/oauth/authorize');
  });

  it("refuses a wrong password on the provider's page, keeping the user there", async () => {
    const page = await newPage();
    await page.goto(`${server.url}/agents`);
    await page.getByLabel('Email or username').fill(server.admin.email);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page
      .getByText(/invalid|incorrect|wrong/i)
      .first()
      .waitFor();
    expect(new URL(page.url()).pathname).toMatch(/^\/oauth\//);
  });

  it('returns to the sign-in page when the session has ended on the server, and back to the page after signing in again', async () => {
    const page = await newPage();
    // A fake clock (time still flows), so the access token's expiry can be reached without waiting.
    await page.clock.install();
    const startedAt = new Date();
    await signInThroughConsole(page, server.url, '/agents', server.admin.email, server.admin.password);
    // The browser's session is revoked server-side (as "sign out everywhere" or an administrator would).
    const revoked = await server.database.query(
      `update user_sessions set revoked_at = now(), revoked_reason = 'e2e' where revoked_at is null and created_at >= $1`,
      [startedAt],
    );
    expect(revoked.rowCount).toBe(1);
    // Past the access token's lifetime: the console's refresh is refused, and the session ends.
    await page.clock.fastForward('06:00');
    await page.getByRole('status').filter({ hasText: 'Your session has ended' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/agents');
    await expect(page.getByRole('button', { name: 'Sign out' }).count()).resolves.toBe(0);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Email or username').fill(server.admin.email);
    await page.getByLabel('Password').fill(server.admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.url}/agents`);
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  });

  it('signs out: the refresh token is revoked on the server and the console says so', async () => {
    const page = await newPage();
    const failures: string[] = [];
    page.on('requestfailed', (request) => failures.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText}`));
    await signInThroughConsole(page, server.url, '/', server.admin.email, server.admin.password);
    const open = async () =>
      (await server.database.query<{ count: number }>('select count(*)::int as count from user_sessions where revoked_at is null')).rows[0]!.count;
    const before = await open();
    const revoked = page.waitForResponse((response) => new URL(response.url()).pathname === '/oauth/revoke');
    await page.getByRole('button', { name: 'Sign out' }).click();
    expect((await revoked).status()).toBe(200);
    await page.getByRole('status').filter({ hasText: 'You have signed out.' }).waitFor();
    expect(await open()).toBe(before - 1);
    expect(failures).toEqual([]);
  });
});

describe('served from a second origin (Pages mode)', () => {
  it('signs in, calls the API and signs out through CORS', async () => {
    const page = await newPage();
    const crossOrigin: { path: string; status: number; allowOrigin: string | null }[] = [];
    page.on('response', (response: Response) => {
      const url = new URL(response.url());
      if (url.origin === server.url && ['/oauth/token', '/oauth/revoke', '/graphql'].includes(url.pathname) && response.request().method() !== 'OPTIONS') {
        crossOrigin.push({ path: url.pathname, status: response.status(), allowOrigin: response.headers()['access-control-allow-origin'] ?? null });
      }
    });
    const failures: string[] = [];
    page.on('requestfailed', (request) => failures.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText}`));
    await signInThroughConsole(page, pages.url, '/organizations/e2e', server.admin.email, server.admin.password);
    await settled(page);
    expect(await errorPanels(page)).toEqual([]);
    await page.getByRole('heading', { level: 1, name: 'e2e' }).waitFor();
    const revoked = page.waitForResponse((response) => new URL(response.url()).pathname === '/oauth/revoke');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await revoked;
    await page.getByRole('status').filter({ hasText: 'You have signed out.' }).waitFor();
    expect(failures).toEqual([]);
    const seen = (path: string) => crossOrigin.filter((entry) => entry.path === path);
    for (const path of ['/oauth/token', '/graphql', '/oauth/revoke']) {
      expect(seen(path).length, path).toBeGreaterThan(0);
      for (const entry of seen(path)) expect(entry, path).toMatchObject({ status: 200, allowOrigin: pages.url });
    }
  });

  it('is refused to an origin the API does not allow', async () => {
    const response = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: { origin: 'http://127.0.0.1:1', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=refresh_token&refresh_token=x&client_id=phobos',
    });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${server.url}/graphql`, {
      method: 'OPTIONS',
      headers: { origin: 'http://127.0.0.1:1', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });
});

/** Client-side navigation (a reload would forget the in-memory tokens): as following a link. */
async function navigate(page: Page, path: string): Promise<void> {
  await page.evaluate((to) => {
    history.pushState(null, '', to);
    dispatchEvent(new PopStateEvent('popstate'));
  }, path);
  await page.waitForURL((url) => `${url.pathname}${url.search}` === path);
  await settled(page);
}

/** The console's main pages, by screenshot name. */
function mainPages(): [string, string][] {
  return [
    ['home', '/'],
    ['organizations', '/organizations'],
    ['organization', '/organizations/e2e'],
    ['project', '/organizations/e2e/projects/console'],
    ['pipeline-template', `/pipeline-templates/${encodeURIComponent(seeded.templateId)}`],
    ['pipeline', `/pipelines/${encodeURIComponent(seeded.pipelineId)}`],
    ['job-log', `/jobs/${encodeURIComponent(seeded.jobId)}`],
    ['release', `/releases/${encodeURIComponent(seeded.releaseId)}`],
    ['agents', '/agents'],
    ['infrastructure', '/infrastructure'],
    ['administration', '/admin'],
    ['account', '/account'],
  ];
}

/** Buttons whose action destroys or stops something. */
const destructive = /\b(delete|remove|revoke|disable|destroy|cancel|stop|reboot|reset)\b/i;

async function destructiveButtons(page: Page): Promise<string[]> {
  const names = await page
    .locator('main')
    .getByRole('button')
    .evaluateAll((buttons) => buttons.map((button) => button.textContent?.trim() ?? ''));
  return names.filter((name) => destructive.test(name));
}

/** Every tab of the hub page shown, each opened in turn; what `check` returns for each, by tab. */
async function eachTab<T>(page: Page, check: () => Promise<T>): Promise<Record<string, T>> {
  const results: Record<string, T> = {};
  const tabs = page.getByRole('tab');
  await tabs.first().waitFor();
  for (let index = 0; index < (await tabs.count()); index++) {
    const tab = tabs.nth(index);
    const name = (await tab.textContent())?.trim() ?? String(index);
    await tab.click();
    await settled(page);
    results[name] = await check();
  }
  return results;
}

describe('every main page', () => {
  for (const colorScheme of ['light', 'dark'] as const) {
    it(`renders without errors or serious accessibility violations, ${colorScheme}, at desktop and phone width`, async () => {
      const problems: Record<string, unknown> = {};
      for (const [device, width] of [
        ['desktop', 1280],
        ['phone', 390],
      ] as const) {
        const page = await newPage({ colorScheme, width });
        await signInThroughConsole(page, server.url, '/', server.admin.email, server.admin.password);
        for (const [name, path] of mainPages()) {
          await navigate(page, path);
          const errors = await errorPanels(page);
          if (errors.length > 0) problems[`${name} (${device}) shows an error`] = errors;
          await page.screenshot({ path: join(screenshots, `${name}-${colorScheme}-${device}.png`), fullPage: true });
          // axe once per theme (contrast differs), at desktop width; the phone layout hides the menu.
          const violations = device === 'desktop' ? await seriousAxeViolations(page) : [];
          if (violations.length > 0) problems[`${name} (${device}) axe`] = violations;
        }
      }
      expect(problems).toEqual({});
    }, 120_000);
  }
});

describe('a viewer', () => {
  it('sees no destructive buttons on the organization and project pages, where an owner does', async () => {
    const seenBy = async (login: string, password: string) => {
      const page = await newPage();
      await signInThroughConsole(page, server.url, '/organizations/e2e', login, password);
      const organization = await eachTab(page, () => destructiveButtons(page));
      await navigate(page, '/organizations/e2e/projects/console');
      const project = await eachTab(page, () => destructiveButtons(page));
      return { organization, project };
    };
    const asViewer = await seenBy(viewer.email, viewer.password);
    expect(Object.keys(asViewer.project)).toContain('Members');
    const none = (tabs: Record<string, string[]>) => Object.fromEntries(Object.keys(tabs).map((tab) => [tab, []]));
    expect(asViewer).toEqual({ organization: none(asViewer.organization), project: none(asViewer.project) });
    // The same pages show an owner (here the administrator) what the viewer does not see.
    const asAdmin = await seenBy(server.admin.email, server.admin.password);
    expect(asAdmin.organization.Members, JSON.stringify(asAdmin)).toContain(`Remove ${viewer.username}`);
  }, 90_000);
});

describe('the administration', () => {
  it("creates a team and a plugin with the same form, a mistake and the API's refusal each shown beside the name", async () => {
    const page = await newPage();
    await signInThroughConsole(page, server.url, '/admin', server.admin.email, server.admin.password);
    const created: Record<string, string> = {};
    for (const [tab, noun] of [
      ['Teams', 'team'],
      ['Plugins', 'plugin'],
    ] as const) {
      await page.getByRole('tab', { name: tab }).click();
      const form = page.getByRole('form', { name: `Create ${noun}` });
      const name = form.getByRole('textbox', { name: new RegExp(`^${noun} name`, 'i') });
      const error = form.locator(`#new-${noun}-name-error`);
      const submit = form.getByRole('button', { name: `Create ${noun}` });
      // The browser's check: nothing is sent.
      await name.fill('Not A Name');
      await submit.click();
      await expect(error.textContent()).resolves.toMatch(/lower-case/);
      await expect(name.getAttribute('aria-invalid')).resolves.toBe('true');
      await name.fill(`admin-${noun}`);
      await form.getByRole('textbox', { name: /description/i }).fill(`Made in the ${noun}s tab`);
      await submit.click();
      await page.getByRole('heading', { level: 3, name: `admin-${noun}` }).waitFor();
      await expect(name.inputValue()).resolves.toBe('');
      // The API's refusal (the name is taken) lands beside the same field.
      await name.fill(`admin-${noun}`);
      await submit.click();
      await error.waitFor();
      created[noun] = (await error.textContent()) ?? '';
    }
    expect(created.team).toMatch(/admin-team/);
    expect(created.plugin).toMatch(/admin-plugin/);
  }, 60_000);
});

// The whole flow, as a newcomer carries it out.
const flowTemplate = `
stage "build" {
  task "compile" {
    action "exec_command" {
      command = "echo compiling; sleep 1; for i in 1 2 3; do echo step $i; done; echo built"
    }
  }
}

stage "deploy" {
  task "rollout" {
    approval_rules = ["prn:approval_rule:e2e/approvers"]
    action "exec_command" {
      command = "echo rolled out"
    }
  }
}
`;

const lifecycleHcl = `
stage "staging" {
  deployment {
    environment = "staging"
  }
}
`;

const shipTemplate = `
stage "ship" {
  task "release" {
    action "exec_command" {
      command = "echo shipping; sleep 1; echo shipped"
    }
  }
}
`;

describe('the whole flow in the browser', () => {
  it('creates a project and an environment, uploads a template, starts a pipeline, watches it live, approves its gate, reads its log, and cuts a release that deploys', async () => {
    const { me } = await api('{ me { ... on User { id } } }');
    await api('mutation($input: CreateApprovalRuleInput!) { createApprovalRule(input: $input) { approvalRule { id } } }', {
      input: { organizationId, name: 'approvers', approvalsRequired: 1, principals: { userIds: [me.id] } },
    });
    const page = await newPage();
    const failures: string[] = [];
    page.on('requestfailed', (request) => {
      // An event stream closed as the page moves on is not a failure.
      if (!request.url().endsWith('/graphql') || request.method() !== 'POST')
        failures.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText}`);
    });
    await signInThroughConsole(page, server.url, '/organizations/e2e', server.admin.email, server.admin.password);
    await settled(page);

    // A project.
    await page.getByRole('button', { name: 'New project' }).click();
    const newProject = page.getByRole('form', { name: 'New project' });
    await newProject.getByLabel('Name').fill('flow');
    await newProject.getByLabel('Description').fill('The whole flow');
    await newProject.getByRole('button', { name: 'Create project' }).click();
    // The new project's page opens.
    await page.getByRole('heading', { level: 1, name: /flow/ }).waitFor();
    await settled(page);

    // An environment.
    await page.getByRole('tab', { name: 'Environments' }).click();
    await page.getByRole('button', { name: 'New environment' }).click();
    const newEnvironment = page.getByRole('form', { name: 'New environment' });
    await newEnvironment.getByLabel('Name').fill('staging');
    await newEnvironment.getByRole('button', { name: 'Create environment' }).click();
    await page
      .getByRole('cell', { name: 'staging', exact: true })
      .or(page.getByRole('heading', { name: 'staging' }))
      .first()
      .waitFor();

    // A template, uploaded; its page opens.
    await page.getByRole('tab', { name: 'Pipeline templates' }).click();
    await page.getByRole('button', { name: 'Upload template' }).click();
    const upload = page.getByRole('form', { name: 'Upload a pipeline template' });
    await upload.getByLabel('Name').fill('deploy');
    await upload.getByLabel('HCL').fill(flowTemplate);
    await upload.getByRole('button', { name: 'Save template' }).click();
    await page.waitForURL(/\/pipeline-templates\//);
    await settled(page);

    // A deployment to staging, started from the template's page: the pipeline's page opens.
    await page.getByLabel('Type').selectOption('DEPLOYMENT');
    await page.getByLabel('Environment').fill('staging');
    await page.getByRole('button', { name: 'Start pipeline' }).click();
    await page.waitForURL(/\/pipelines\//);
    const pipelineUrl = page.url();

    // Live: the build task runs and succeeds, the gate then waits for an approval, all without a reload.
    const compile = page.getByRole('article', { name: 'Task compile' });
    const rollout = page.getByRole('article', { name: 'Task rollout' });
    await compile.and(page.locator('[data-status="SUCCEEDED"]')).waitFor({ timeout: 60_000 });
    await rollout.getByRole('button', { name: 'Approve' }).click({ timeout: 30_000 });
    await rollout.and(page.locator('[data-status="SUCCEEDED"]')).waitFor({ timeout: 60_000 });
    expect(page.url()).toBe(pipelineUrl);
    await page.screenshot({ path: join(screenshots, 'flow-pipeline-light-desktop.png'), fullPage: true });

    // The build's log, from the graph's job link.
    await compile.getByRole('link', { name: /\(compile\)$/ }).click();
    await page.waitForURL(/\/jobs\//);
    await page.getByText('step 3').first().waitFor({ timeout: 30_000 });
    await page.getByText('built', { exact: true }).first().waitFor();
    await page.screenshot({ path: join(screenshots, 'flow-job-log-light-desktop.png'), fullPage: true });

    const { rows } = await server.database.query<{ status: string; environment: string | null }>(
      `select p.status, p.environment_name as environment from pipelines p join projects pr on pr.id = p.project_id where pr.name = 'flow'`,
    );
    expect(rows).toEqual([{ status: 'SUCCEEDED', environment: 'staging' }]);

    // A release: a lifecycle deploying to staging and a template to deploy with, uploaded; the release
    // cut from the project's Releases tab deploys to staging, seen on its page.
    const uploadHcl = async (tab: string, button: string, form: string, name: string, hcl: string, save: string, opened: RegExp) => {
      await navigate(page, '/organizations/e2e/projects/flow');
      await page.getByRole('tab', { name: tab }).click();
      await page.getByRole('button', { name: button }).click();
      const upload = page.getByRole('form', { name: form });
      await upload.getByLabel('Name').fill(name);
      await upload.getByLabel('HCL').fill(hcl);
      await upload.getByRole('button', { name: save }).click();
      await page.waitForURL(opened);
    };
    await uploadHcl(
      'Release lifecycles',
      'Upload lifecycle',
      'Upload a release lifecycle',
      'to-staging',
      lifecycleHcl,
      'Save lifecycle',
      /\/release-lifecycles\//,
    );
    await uploadHcl('Pipeline templates', 'Upload template', 'Upload a pipeline template', 'ship', shipTemplate, 'Save template', /\/pipeline-templates\//);
    await navigate(page, '/organizations/e2e/projects/flow');
    await page.getByRole('tab', { name: 'Releases' }).click();
    await page.getByRole('button', { name: 'Create release' }).click();
    const release = page.getByRole('form', { name: 'New release' });
    await release.getByLabel('Version').fill('2.0.0');
    const choose = async (label: string, text: string) => {
      const select = release.getByLabel(label);
      await select.locator('option', { hasText: text }).first().waitFor({ state: 'attached' });
      await select.selectOption((await select.locator('option', { hasText: text }).first().getAttribute('value'))!);
    };
    await choose('Lifecycle', 'to-staging');
    await choose('Pipeline template', 'ship');
    await release.getByRole('button', { name: 'Create release' }).click();
    await page.waitForURL(/\/releases\//);
    const staging = page.getByRole('listitem', { name: 'Stage staging' });
    await staging.locator('li', { hasText: 'deployment pipeline' }).getByText('SUCCEEDED').waitFor({ timeout: 90_000 });
    await page.screenshot({ path: join(screenshots, 'flow-release-light-desktop.png'), fullPage: true });
    const deployments = await server.database.query<{ count: number }>(
      `select count(*)::int as count from pipelines p join projects pr on pr.id = p.project_id
       where pr.name = 'flow' and p.environment_name = 'staging' and p.status = 'SUCCEEDED'`,
    );
    expect(deployments.rows[0]!.count).toBe(2);
    expect(failures).toEqual([]);
  }, 240_000);
});
