import { exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { createApp } from '../../src/app';
import type { WorkerEnv } from '../../src/env';
import { databaseHandle, isolatedEnv, unreachableDatabaseEnv } from '../support/worker-database';

const app = createApp();
let env: WorkerEnv;

beforeAll(async () => {
  env = await isolatedEnv();
});

describe('GET /healthz', () => {
  it('answers while the Worker runs, through the real entry point', async () => {
    const response = await exports.default.fetch('http://localhost/healthz');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('GET /readyz', () => {
  it('is ready when the database answers and every migration is applied', async () => {
    const response = await app.request('/readyz', {}, env);
    const body = (await response.json()) as { status: string; checks: Record<string, { status: string; applied?: number; expected?: number }> };
    expect(response.status).toBe(200);
    expect(body.status).toBe('ok');
    expect(body.checks.database!.status).toBe('pass');
    expect(body.checks.migrations).toMatchObject({ status: 'pass' });
    expect(body.checks.migrations!.applied).toBe(body.checks.migrations!.expected);
  });

  it('fails with 503 and names the database check when the server is down', async () => {
    const response = await app.request('/readyz', {}, unreachableDatabaseEnv());
    expect(response.status).toBe(503);
    const body = (await response.json()) as { status: string; checks: Record<string, { status: string; message?: string }> };
    expect(body.status).toBe('fail');
    expect(body.checks.database).toMatchObject({ status: 'fail', message: 'database unreachable' });
    expect(body.checks.migrations!.status).toBe('skip');
  });

  it('fails when a migration is missing from the database', async () => {
    const broken = await isolatedEnv();
    const db = databaseHandle(broken.PHOBOS_DB_NAME as string);
    await db.http.execute(sql`delete from drizzle.__drizzle_migrations`);
    const response = await app.request('/readyz', {}, broken);
    expect(response.status).toBe(503);
    const body = (await response.json()) as { checks: Record<string, { status: string; message?: string }> };
    expect(body.checks.database!.status).toBe('pass');
    expect(body.checks.migrations!.status).toBe('fail');
    expect(body.checks.migrations!.message).toContain('0000_foundation');
  });

  it('fails when no database is configured', async () => {
    const response = await app.request('/readyz', {}, { ...env, PHOBOS_DB_HOST: '' });
    expect(response.status).toBe(503);
    const body = (await response.json()) as { checks: Record<string, { status: string; message?: string }> };
    expect(body.checks.database).toMatchObject({ status: 'fail', message: 'PHOBOS_DB_HOST is not set' });
  });
});
