// The executor's side of external plugins, against real programs and a real HTTP server: a binary
// is downloaded, verified against its SHA-256 and cached (a second install never downloads); a
// mismatch or a failed download leaves nothing in the cache; and the stdio protocol — logs, outputs,
// results, stray lines, a plugin that fails, exits non-zero, ends without a result, or is canceled.
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installPlugin, PluginError, privateCopy, runPluginAction } from '../../src/agent/executor/plugins';
import type { JobPlugin } from '../../src/protocol/agent-v1';

const scratch = mkdtempSync(join(tmpdir(), 'phobos-plugin-executor-'));
let server: Server;
let baseUrl: string;
let downloads = 0;
const served = new Map<string, Buffer>();

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

function program(body: string): Buffer {
  return Buffer.from(`#!/usr/bin/env node
let input = '';
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const request = JSON.parse(input);
  const send = (message) => process.stdout.write(JSON.stringify(message) + '\\n');
  ${body}
});
`);
}

function plugin(name: string, bytes: Buffer, overrides: Partial<JobPlugin> = {}): JobPlugin {
  served.set(`/${name}`, bytes);
  return {
    name,
    source: `acme/${name}`,
    version: '1.0.0',
    sha256: sha256(bytes),
    sizeBytes: bytes.length,
    signature: null,
    url: `${baseUrl}/${name}`,
    config: { region: 'eu' },
    problem: null,
    ...overrides,
  };
}

function installed(bytes: Buffer): string {
  const path = join(scratch, `bin-${sha256(bytes).slice(0, 12)}`);
  writeFileSync(path, bytes);
  chmodSync(path, 0o755);
  return path;
}

async function run(body: string, options: { signal?: AbortSignal } = {}) {
  const bytes = program(body);
  const lines: string[] = [];
  let stderr = '';
  const result = await runPluginAction(
    installed(bytes),
    plugin('p', bytes),
    { action: 'deploy', inputs: { target: 'prod' } },
    {
      workspace: scratch,
      baseEnv: { PATH: process.env.PATH ?? '' },
      log: (text) => lines.push(text),
      stderr: (text) => {
        stderr += text;
      },
      signal: options.signal ?? new AbortController().signal,
      killGraceMs: 500,
    },
  );
  return { result, lines, stderr };
}

beforeAll(async () => {
  server = createServer((request, response) => {
    const bytes = served.get(request.url ?? '');
    downloads += 1;
    if (!bytes) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-length': String(bytes.length) }).end(bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(scratch, { recursive: true, force: true });
});

describe('installing a plugin', () => {
  it('downloads, verifies and caches by SHA-256; the second install uses the cache', async () => {
    const cache = join(scratch, 'cache-ok');
    const bytes = program("send({ type: 'result', success: true });");
    const first = await installPlugin(plugin('ok', bytes), cache);
    expect(first).toEqual({ path: join(cache, sha256(bytes), 'plugin'), cached: false });
    const before = downloads;
    const second = await installPlugin(plugin('ok', bytes), cache);
    expect(second.cached).toBe(true);
    expect(downloads).toBe(before);
  });

  it('does not trust the cache: a cached binary another job replaced (or linked) is downloaded again, and a run uses a verified private copy', async () => {
    const cache = join(scratch, 'cache-tampered');
    const bytes = program("send({ type: 'result', success: true });");
    const first = await installPlugin(plugin('tampered', bytes), cache);
    writeFileSync(first.path, '#!/bin/sh\necho pwned\n');
    const before = downloads;
    const again = await installPlugin(plugin('tampered', bytes), cache);
    expect(again.cached).toBe(false);
    expect(downloads).toBe(before + 1);
    expect(readFileSync(again.path)).toEqual(bytes);

    rmSync(again.path);
    symlinkSync(join(scratch, 'elsewhere'), again.path);
    writeFileSync(join(scratch, 'elsewhere'), bytes);
    const relinked = await installPlugin(plugin('tampered', bytes), cache);
    expect(relinked.cached).toBe(false);
    expect(lstatSync(relinked.path).isSymbolicLink()).toBe(false);

    const runDirectory = join(scratch, 'run-private');
    const copy = await privateCopy(plugin('tampered', bytes), relinked.path, runDirectory);
    expect(copy.startsWith(runDirectory)).toBe(true);
    expect(readFileSync(copy)).toEqual(bytes);
  });

  it('refuses a binary whose SHA-256 differs, keeping nothing', async () => {
    const cache = join(scratch, 'cache-bad');
    const bytes = program('');
    const claimed = 'a'.repeat(64);
    const failure = installPlugin(plugin('bad', bytes, { sha256: claimed }), cache);
    await expect(failure).rejects.toThrow(PluginError);
    await expect(failure).rejects.toThrow(`checksum mismatch: the downloaded binary's SHA-256 is ${sha256(bytes)}, the registry says ${claimed}`);
    expect(readdirSync(join(cache, claimed))).toEqual([]);
  });

  it('stops a download that goes past the size the registry gives, keeping nothing', async () => {
    const cache = join(scratch, 'cache-large');
    // A large body (several chunks), served in place of a binary the registry says is 100 bytes.
    const bytes = Buffer.concat([program(''), Buffer.alloc(4 * 1024 * 1024, 0x41)]);
    const large = plugin('large', bytes, { sizeBytes: 100 });
    const failure = installPlugin(large, cache);
    await expect(failure).rejects.toThrow(PluginError);
    await expect(failure).rejects.toThrow('the download is larger than the 100 bytes the registry says; it was not run');
    expect(readdirSync(join(cache, large.sha256!))).toEqual([]);
  });

  it('reports a failed download and an unresolved plugin by their messages', async () => {
    const cache = join(scratch, 'cache-missing');
    const missing = { ...plugin('gone', program('')), url: `${baseUrl}/nothing-here` };
    await expect(installPlugin(missing, cache)).rejects.toThrow('the download failed with HTTP 404');
    expect(existsSync(join(cache, missing.sha256!, 'plugin'))).toBe(false);
    await expect(installPlugin({ ...missing, problem: 'plugin "gone" (acme/gone): no such plugin' }, cache)).rejects.toThrow('no such plugin');
  });
});

describe('the stdio protocol', () => {
  it('passes the action, inputs and configuration; logs, outputs and a successful result come back', async () => {
    const { result, lines, stderr } = await run(`
      send({ type: 'log', message: 'deploying to ' + request.inputs.target + ' in ' + request.config.region });
      process.stdout.write('not json\\n');
      process.stderr.write('careful\\n');
      send({ type: 'output', name: 'url', value: 'https://prod.example' });
      send({ type: 'output', name: 'count', value: 3 });
      send({ type: 'result', success: request.action === 'deploy' && request.protocol === 'phobos-plugin/v1' && request.plugin.name === 'p' });`);
    expect(result).toMatchObject({ success: true, exitCode: 0, outputs: { url: 'https://prod.example', count: 3 } });
    expect(lines).toEqual(['deploying to prod in eu', 'not json']);
    expect(stderr).toBe('careful\n');
  });

  it("fails with the plugin's error, a non-zero exit, or a missing result", async () => {
    expect((await run("send({ type: 'result', success: false, error: 'quota exceeded' });")).result).toMatchObject({ success: false, error: 'quota exceeded' });
    expect((await run("send({ type: 'result', success: true }); process.exitCode = 4;")).result).toMatchObject({
      success: false,
      error: 'the plugin exited with code 4',
    });
    expect((await run("send({ type: 'log', message: 'bye' });")).result).toMatchObject({ success: false, error: 'the plugin ended without sending a result' });
  });

  it('stops a plugin when the job is canceled', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const started = Date.now();
    const { result } = await run('setTimeout(() => {}, 60_000);', { signal: controller.signal });
    expect(result.success).toBe(false);
    expect(result.signal).toBe('SIGTERM');
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
