import { neon, neonConfig, Pool } from '@neondatabase/serverless';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ws from 'ws';
import { startDbBridge, type DbBridge } from '../../scripts/db-bridge';
import { createTestDatabase, type TestDatabase } from '../support/node-database';

let bridge: DbBridge;
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
  const target = new URL(database.url);
  bridge = await startDbBridge({ allowedTargets: [`${target.hostname}:${target.port || '5432'}`] });
  neonConfig.fetchEndpoint = `${bridge.url}/sql`;
  neonConfig.wsProxy = `${new URL(bridge.url).host}/v2`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.forceDisablePgSSL = true;
  neonConfig.pipelineConnect = false;
  neonConfig.webSocketConstructor = ws;
  // Node only: without this, ~1 ms per query is lost to write coalescing timers.
  neonConfig.coalesceWrites = false;
  await database.query('create table notes (id serial primary key, body text not null unique, at timestamptz default now())');
});

afterAll(async () => {
  await bridge.close();
});

describe('HTTP /sql (Neon HTTP format)', () => {
  it('runs a parameterised query and returns typed rows', async () => {
    const sql = neon(database.url);
    const rows = await sql.query('select $1::int + 1 as n, $2::text as t, true as b, null::text as nothing', [41, 'x']);
    expect(rows).toEqual([{ n: 42, t: 'x', b: true, nothing: null }]);
  });

  it('runs a batch as one transaction: a failing statement rolls back the earlier ones', async () => {
    const sql = neon(database.url);
    await expect(sql.transaction([sql`insert into notes (body) values ('first')`, sql`insert into notes (body) values ('first')`])).rejects.toMatchObject({
      code: '23505',
      constraint: 'notes_body_key',
    });
    expect(await sql`select count(*)::int as count from notes`).toEqual([{ count: 0 }]);

    const [, inserted] = await sql.transaction([sql`insert into notes (body) values ('a')`, sql`insert into notes (body) values ('b') returning body`]);
    expect(inserted).toEqual([{ body: 'b' }]);
  });

  it('answers a SQL error with Postgres error fields', async () => {
    const sql = neon(database.url);
    await expect(sql`select * from no_such_table`).rejects.toMatchObject({ code: '42P01' });
  });

  it('refuses targets it was not started for', async () => {
    const response = await fetch(`${bridge.url}/sql`, {
      method: 'POST',
      headers: { 'Neon-Connection-String': 'postgresql://u:p@10.1.2.3:5432/db' },
      body: JSON.stringify({ query: 'select 1', params: [] }),
    });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ message: 'target 10.1.2.3:5432 is not allowed' });
  });

  it('rejects malformed requests with 400', async () => {
    const noHeader = await fetch(`${bridge.url}/sql`, { method: 'POST', body: '{}' });
    expect(noHeader.status).toBe(400);
    const badJson = await fetch(`${bridge.url}/sql`, {
      method: 'POST',
      headers: { 'Neon-Connection-String': database.url },
      body: '{not json',
    });
    expect(badJson.status).toBe(400);
  });
});

describe('WebSocket tunnel (Neon Pool)', () => {
  it('carries an interactive transaction over one connection', async () => {
    const pool = new Pool({ connectionString: database.url, max: 1 });
    const client = await pool.connect();
    try {
      await client.query('begin');
      await client.query("insert into notes (body) values ('in-tx')");
      const inside = await client.query("select count(*)::int as count from notes where body = 'in-tx'");
      expect(inside.rows[0].count).toBe(1);
      await client.query('rollback');
      const after = await client.query("select count(*)::int as count from notes where body = 'in-tx'");
      expect(after.rows[0].count).toBe(0);
    } finally {
      client.release();
      await pool.end();
    }
  });

  it('refuses a tunnel to a target it was not started for', async () => {
    const socket = new ws(`ws://${new URL(bridge.url).host}/v2?address=10.1.2.3:5432`);
    const outcome = await new Promise<string>((resolve) => {
      socket.on('open', () => resolve('open'));
      socket.on('unexpected-response', (_req, res) => resolve(`status ${res.statusCode}`));
      socket.on('error', (error) => resolve(`error ${error.message}`));
    });
    expect(outcome).toMatch(/403/);
  });
});
