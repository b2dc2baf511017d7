// `npm start` as a user runs it: the real launcher, wrangler dev and the Worker, against a database
// of this file's own on the test server.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { databaseVariablesFor } from '../../src/db/connection-string';
import { freePort } from '../setup/global-database';
import { createTestDatabase } from '../support/node-database';

const projectRoot = new URL('../..', import.meta.url).pathname;

interface Launched {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  /** Until the output holds `text`, the launcher exits, or `timeoutMs` pass (the caller asserts which). */
  outputHolds: (text: string, timeoutMs: number) => Promise<void>;
  /** Ctrl-C, and waits until the launcher has stopped what it started: a failed assertion must not leave a dev server behind. */
  stop: () => Promise<void>;
}

function launch(env: Record<string, string>): Launched {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PHOBOS_EDGE_STATE_DIR: mkdtempSync(join(tmpdir(), 'phobos-start-')), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    await exited;
  };
  const outputHolds = async (text: string, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!output.includes(text) && Date.now() < deadline && child.exitCode === null) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };
  return { child, output: () => output, exited, outputHolds, stop };
}

describe('npm start', () => {
  it('exits 1 naming a bad variable, and writes nothing to the database', async () => {
    const database = await createTestDatabase({ migrated: false });
    const run = launch({ ...databaseVariablesFor(database.url), PHOBOS_HTTP_RATE_LIMIT: 'abc' });
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain('PHOBOS_HTTP_RATE_LIMIT: expected a number of requests per second');
    const tables = await database.query(
      "select count(*)::int as count from information_schema.tables where table_schema not in ('pg_catalog', 'information_schema')",
    );
    expect(tables.rows[0]!.count).toBe(0);
  });

  it('exits 1 naming an unreadable _FILE secret', async () => {
    const run = launch({ PHOBOS_ADMIN_USER_PASSWORD_FILE: '/nonexistent/admin-password' });
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain('PHOBOS_ADMIN_USER_PASSWORD_FILE: cannot read /nonexistent/admin-password');
  });

  it('migrates, creates the admin, serves /readyz on the configured port, and stops cleanly on SIGINT', async () => {
    const database = await createTestDatabase({ migrated: false });
    const port = await freePort();
    const run = launch({
      ...databaseVariablesFor(database.url),
      PHOBOS_HTTP_SERVER_PORT: String(port),
      PHOBOS_ADMIN_USER_EMAIL: 'ops@example.com',
      PHOBOS_ADMIN_USER_PASSWORD: 'correct horse battery staple',
      PHOBOS_GRPC_SERVER_PORT: '9010',
    });
    try {
      await run.outputHolds('ready on', 90_000);
      expect(run.output()).toContain(`ready on http://localhost:${port}`);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ok', checks: { database: { status: 'pass' }, migrations: { status: 'pass' } } });
      const admins = await database.query<{ email: string }>('select email from users where is_admin');
      expect(admins.rows.map((row) => row.email)).toEqual(['ops@example.com']);
      expect(run.output()).toContain('PHOBOS_GRPC_SERVER_PORT is set but not applicable on Workers');
      expect(run.output()).not.toContain('correct horse battery staple');
      // With no PHOBOS_INTERNAL_AGENTS_<n>_* declared, one `local` internal agent runs beside the
      // Worker and opens its session.
      expect(run.output()).toContain('internal agents: local (local)');
      const sessionDeadline = Date.now() + 30_000;
      let sessions: { name: string; internal: boolean; open: boolean }[] = [];
      while (sessions.length === 0 && Date.now() < sessionDeadline) {
        sessions = (
          await database.query<{ name: string; internal: boolean; open: boolean }>(
            'select a.name, a.internal, s.closed_at is null as open from agent_sessions s join agents a on a.id = s.agent_id',
          )
        ).rows;
        if (sessions.length === 0) await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(sessions).toEqual([{ name: 'local', internal: true, open: true }]);
    } finally {
      await run.stop();
    }
    expect(await run.exited).toBe(0);
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    // Stopped first, the agent closed its session while the Worker still answered.
    const closed = await database.query<{ open: boolean }>('select closed_at is null as open from agent_sessions');
    expect(closed.rows).toEqual([{ open: false }]);
  }, 120_000);

  it("runs the Worker's cron trigger itself, which wrangler's dev server does not: at start, the sweep closes a session silent past its timeout", async () => {
    const database = await createTestDatabase();
    // An internal agent: its sessions have no service account (a session of another agent without
    // one would be closed by the same sweep as no longer authorized).
    const agent = await database.query<{ id: string }>("insert into agents (name, internal) values ('gone', true) returning id");
    const stale = await database.query<{ id: string }>(
      "insert into agent_sessions (agent_id, last_contact_at) values ($1, now() - interval '10 minutes') returning id",
      [agent.rows[0]!.id],
    );
    const fresh = await database.query<{ id: string }>('insert into agent_sessions (agent_id) values ($1) returning id', [agent.rows[0]!.id]);
    const port = await freePort();
    const run = launch({ ...databaseVariablesFor(database.url), PHOBOS_HTTP_SERVER_PORT: String(port) });
    try {
      await run.outputHolds('cron trigger:', 90_000);
      expect(run.output()).toContain('cron trigger: "* * * * *" (UTC), first run now');
      const closeDeadline = Date.now() + 30_000;
      let open = true;
      while (open && Date.now() < closeDeadline) {
        const row = await database.query<{ open: boolean }>('select closed_at is null as open from agent_sessions where id = $1', [stale.rows[0]!.id]);
        open = row.rows[0]!.open;
        if (open) await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(open).toBe(false);
      // A session heard from moments before the start is left open by the same run.
      const recent = await database.query<{ open: boolean }>('select closed_at is null as open from agent_sessions where id = $1', [fresh.rows[0]!.id]);
      expect(recent.rows).toEqual([{ open: true }]);
    } finally {
      await run.stop();
    }
    expect(await run.exited).toBe(0);
    expect(run.output()).not.toMatch(/cron ".*" at .*(not run|HTTP|exception)/);
  }, 120_000);
});
