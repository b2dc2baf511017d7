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
    expect(body.checks.database).toMatchObject({ status: 'fail', message: 'PHOBOS_DB_HOST is not set and there is no HYPERDRIVE binding' });
  });
});

describe('errors', () => {
  it('answer problem+json with a stable code, and keep the request id header', async () => {
    const response = await app.request('/no-such-route', { headers: { 'x-request-id': 'client-chosen-id-123' } }, env);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(response.headers.get('x-request-id')).toBe('client-chosen-id-123');
    expect(await response.json()).toEqual({
      type: '/docs/errors#not_found',
      title: 'Not found',
      status: 404,
      detail: 'No route for GET /no-such-route',
      code: 'NOT_FOUND',
      requestId: 'client-chosen-id-123',
      instance: '/no-such-route',
    });
  });

  it('replace an unacceptable incoming request id with a fresh one', async () => {
    const response = await app.request('/healthz', { headers: { 'x-request-id': 'bad id with spaces' } }, env);
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answer 503 without details when the configuration is invalid', async () => {
    const response = await app.request('/readyz', {}, { ...env, PHOBOS_HTTP_RATE_LIMIT: 'abc' });
    expect(response.status).toBe(503);
    const body = (await response.json()) as { code: string; detail: string };
    expect(body.code).toBe('SERVICE_UNAVAILABLE');
    expect(body.detail).toBe('The server is misconfigured');
  });
});
