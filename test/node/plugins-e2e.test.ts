// A plugin from the registry runs in a pipeline, end to end: the test builds a small real plugin (a
// Node program with a shebang, speaking phobos-plugin/v1 over stdio), publishes it over GraphQL
// against a real Worker (wrangler's dev server, its R2 bucket), uploading the binary by presigned
// multipart (PUT to the part URLs, then completePluginPlatformUpload), and a pipeline whose template
// requires it runs on a real local agent: the executor downloads the version the constraint picks,
// verifies its SHA-256, caches it, runs the action and reports its outputs. Unhappy paths: a
// constraint no version meets, an unknown plugin, another organization's plugin, and a binary whose
// SHA-256 is not the registry's — each fails its job with a message naming the plugin.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureInternalAgents } from '../../scripts/local-stack/internal-agents';
import { internalAgentCredential } from '../../src/auth/internal-agent-credentials';
import { registryPlatform } from '../../src/protocol/agent-v1';
import { type AgentProcess, startAgentProcess } from '../support/agent-process';
import { devWorkerKeyEncryptionKey } from '../support/dev-worker';
import { signInWithPassword, startWorkerServer, type WorkerServer } from '../support/worker-server';

// biome-ignore lint/suspicious/noExplicitAny: answers are read field by field.
type Answer = any;

let server: WorkerServer;
let token: string;
let organizationId: string;
let projectId: string;
let agent: AgentProcess | undefined;
const scratch = mkdtempSync(join(tmpdir(), 'phobos-plugins-e2e-'));
const cacheDirectory = join(scratch, 'cache');
const platform = registryPlatform(process.platform, process.arch);

async function gql(query: string, variables: Record<string, unknown> = {}): Promise<{ data?: Answer; errors?: Answer[] }> {
  const response = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: Answer; errors?: Answer[] };
}

async function ok(query: string, variables: Record<string, unknown> = {}): Promise<Answer> {
  const body = await gql(query, variables);
  expect(body.errors, `${query}\n${JSON.stringify(body.errors)}`).toBeUndefined();
  return body.data;
}

/** The plugin: a real program. It greets, reports outputs, and fails when asked to. */
function pluginProgram(version: string): Buffer {
  return Buffer.from(`#!/usr/bin/env node
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const request = JSON.parse(input.split('\\n')[0]);
  const send = (message) => process.stdout.write(JSON.stringify(message) + '\\n');
  if (request.protocol !== 'phobos-plugin/v1') { send({ type: 'result', success: false, error: 'unknown protocol' }); return; }
  if (request.action !== 'greet') { send({ type: 'result', success: false, error: 'no action ' + request.action }); process.exitCode = 1; return; }
  const message = request.config.greeting + ', ' + request.inputs.target + '!';
  send({ type: 'log', message: 'greeter ${version} says: ' + message });
  process.stderr.write('a line on stderr\\n');
  send({ type: 'output', name: 'message', value: message });
  send({ type: 'output', name: 'version', value: '${version}' });
  send({ type: 'output', name: 'workspaceIsCwd', value: request.workspace === process.cwd() });
  send({ type: 'result', success: true });
});
`);
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Publishes a version of a plugin with one binary for this machine's platform, by presigned multipart upload. */
async function publish(pluginId: string, version: string, binary: Buffer): Promise<string> {
  const created = await ok('mutation($input: CreatePluginVersionInput!) { createPluginVersion(input: $input) { pluginVersion { id } } }', {
    input: { pluginId, version },
  });
  const declared = await ok(
    `mutation($input: CreatePluginPlatformInput!) { createPluginPlatform(input: $input) {
      pluginPlatform { id status } uploadParts { partNumber sizeBytes url } } }`,
    {
      input: {
        pluginVersionId: created.createPluginVersion.pluginVersion.id,
        os: platform.os,
        arch: platform.arch,
        sha256: sha256(binary),
        sizeBytes: binary.length,
      },
    },
  );
  const { pluginPlatform, uploadParts } = declared.createPluginPlatform;
  expect(pluginPlatform.status).toBe('PENDING');
  const parts = [];
  let offset = 0;
  for (const part of uploadParts) {
    // Straight to the presigned URL, as any HTTP client would: no credentials.
    const response = await fetch(part.url, { method: 'PUT', body: new Uint8Array(binary.subarray(offset, offset + part.sizeBytes)) });
    offset += part.sizeBytes;
    expect(response.status).toBe(200);
    parts.push({ partNumber: part.partNumber, etag: response.headers.get('etag') });
  }
  const done = await ok(
    'mutation($input: CompletePluginPlatformUploadInput!) { completePluginPlatformUpload(input: $input) { pluginPlatform { status sha256 } } }',
    { input: { id: pluginPlatform.id, parts } },
  );
  expect(done.completePluginPlatformUpload.pluginPlatform).toEqual({ status: 'UPLOADED', sha256: sha256(binary) });
  return pluginPlatform.id;
}

function template(source: string, version: string): string {
  return `
plugin_requirements {
  greeter = {
    source  = "${source}"
    version = "${version}"
  }
}
variable "greeting" {
  type    = string
  default = "Hello"
}
plugin greeter {
  greeting = var.greeting
}
stage "deploy" {
  task "greet" {
    action "greeter_greet" {
      alias  = "hello"
      target = "world"
    }
  }
}`;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

let templateCount = 0;

async function runPipeline(hcl: string) {
  templateCount += 1;
  const created = await ok('mutation($input: CreatePipelineTemplateInput!) { createPipelineTemplate(input: $input) { pipelineTemplate { id } } }', {
    input: { projectId, name: `plugins-${templateCount}`, versioned: false, hclData: hcl },
  });
  const pipeline = await ok('mutation($input: CreatePipelineInput!) { createPipeline(input: $input) { pipeline { id } } }', {
    input: { pipelineTemplateId: created.createPipelineTemplate.pipelineTemplate.id, type: 'RUNBOOK' },
  });
  const pipelineId = pipeline.createPipeline.pipeline.id;
  const ended = await until('the pipeline to end', async () => {
    const { pipeline } = await ok('query($id: ID!) { pipeline(id: $id) { status jobs { id } } }', { id: pipelineId });
    return ['SUCCEEDED', 'FAILED', 'CANCELED'].includes(pipeline.status) ? pipeline : undefined;
  });
  const jobId = ended.jobs[0].id;
  const { job } = await until('the job log to be stored', async () => {
    const answer = await ok('query($id: ID!) { job(id: $id) { status outputs logs(startOffset: 0, limit: 65536) } }', { id: jobId });
    return answer.job.logs.includes('[phobos]') ? answer : undefined;
  });
  return { status: ended.status as string, job };
}

let pluginId: string;
const v1 = pluginProgram('1.0.0');
const v11 = pluginProgram('1.1.0');
const v2 = pluginProgram('2.0.0');

beforeAll(async () => {
  server = await startWorkerServer();
  await ensureInternalAgents(server.database.url, [{ name: 'plugins-local', dispatcherType: 'local', dispatcherData: {} }]);
  token = (await signInWithPassword(server, server.admin.email, server.admin.password)).access_token;
  const organization = await ok('mutation { createOrganization(input: { name: "plugins-e2e" }) { organization { id } } }');
  organizationId = organization.createOrganization.organization.id;
  const project = await ok('mutation($input: CreateProjectInput!) { createProject(input: $input) { project { id } } }', {
    input: { organizationId, name: 'runs' },
  });
  projectId = project.createProject.project.id;
  agent = startAgentProcess([], {
    PHOBOS_AGENT_API_URL: server.url,
    PHOBOS_AGENT: 'plugins-local',
    PHOBOS_AGENT_INTERNAL_CREDENTIAL: await internalAgentCredential(devWorkerKeyEncryptionKey, 'plugins-local'),
    PHOBOS_PLUGIN_CACHE_DIR: cacheDirectory,
  });
}, 120_000);

afterAll(async () => {
  await agent?.stop();
  await server?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe('a plugin from the registry', () => {
  it('is published by presigned multipart upload and runs in a pipeline on a real agent, the constraint picking its version', async () => {
    const plugin = await ok('mutation($input: CreatePluginInput!) { createPlugin(input: $input) { plugin { id source } } }', {
      input: { organizationId, name: 'greeter', description: 'Greets.' },
    });
    expect(plugin.createPlugin.plugin.source).toBe('plugins-e2e/greeter');
    pluginId = plugin.createPlugin.plugin.id;
    await publish(pluginId, '1.0.0', v1);
    await publish(pluginId, '1.1.0', v11);
    await publish(pluginId, '2.0.0', v2);

    const run = await runPipeline(template('plugins-e2e/greeter', '~> 1.0'));
    expect(run.status, run.job.logs).toBe('SUCCEEDED');
    expect(run.job.status).toBe('FINISHED');
    // ~> 1.0 is >= 1.0, < 2.0: the newest of those is 1.1.0.
    expect(JSON.parse(run.job.outputs)).toEqual({ hello: { message: 'Hello, world!', version: '1.1.0', workspaceIsCwd: true } });
    expect(run.job.logs).toContain(`plugins-e2e/greeter 1.1.0 (sha256 ${sha256(v11)}): downloaded and verified`);
    expect(run.job.logs).toContain('greeter 1.1.0 says: Hello, world!');
    expect(run.job.logs).toContain('a line on stderr');
    // Cached under its SHA-256, executable.
    const cached = join(cacheDirectory, sha256(v11), 'plugin');
    expect(readFileSync(cached).equals(v11)).toBe(true);

    // An exact version, run again from the cache the second time.
    const exact = await runPipeline(template('plugins-e2e/greeter', '2.0.0'));
    expect(JSON.parse(exact.job.outputs).hello.version).toBe('2.0.0');
    const again = await runPipeline(template(`${new URL(server.url).host}/plugins-e2e/greeter`, '= 2.0.0'));
    expect(again.status).toBe('SUCCEEDED');
    expect(again.job.logs).toContain(`(sha256 ${sha256(v2)}): from the cache`);
  }, 180_000);

  it('fails the job with a message naming the plugin when no version meets the constraint, or no such plugin exists', async () => {
    const noVersion = await runPipeline(template('plugins-e2e/greeter', '>= 3.0'));
    expect(noVersion.status).toBe('FAILED');
    expect(noVersion.job.status).toBe('FAILED');
    expect(noVersion.job.logs).toContain(
      'plugin "greeter" (plugins-e2e/greeter >= 3.0): no published version meets the constraint (published: 1.0.0, 1.1.0, 2.0.0)',
    );

    const unknown = await runPipeline(template('plugins-e2e/nope', '1.0.0'));
    expect(unknown.status).toBe('FAILED');
    expect(unknown.job.logs).toContain('no plugin "nope" with an uploaded binary is published in organization "plugins-e2e"');

    // Another organization's plugin is not there for this one's pipelines.
    const other = await ok('mutation { createOrganization(input: { name: "plugins-other" }) { organization { id } } }');
    const theirs = await ok('mutation($input: CreatePluginInput!) { createPlugin(input: $input) { plugin { id } } }', {
      input: { organizationId: other.createOrganization.organization.id, name: 'greeter' },
    });
    await publish(theirs.createPlugin.plugin.id, '1.0.0', v1);
    const foreign = await runPipeline(template('plugins-other/greeter', '1.0.0'));
    expect(foreign.status).toBe('FAILED');
    expect(foreign.job.logs).toContain('a pipeline of organization "plugins-e2e" uses its own organization\'s plugins');
  }, 180_000);

  it('refuses to run a binary whose SHA-256 is not the one the registry holds', async () => {
    const broken = Buffer.from(`${pluginProgram('3.0.0').toString()}\n// 3.0.0`);
    await publish(pluginId, '3.0.0', broken);
    // The registry's record and the stored binary disagree (a corrupted or swapped object).
    const claimed = 'f'.repeat(64);
    await server.database.query(
      `update plugin_platforms set sha256 = $1 where plugin_version_id = (select id from plugin_versions where semantic_version = '3.0.0' and plugin_id = (select id from plugins where name = 'greeter' and organization_id = (select id from organizations where name = 'plugins-e2e')))`,
      [claimed],
    );
    const run = await runPipeline(template('plugins-e2e/greeter', '3.0.0'));
    expect(run.status).toBe('FAILED');
    expect(run.job.logs).toContain(`checksum mismatch: the downloaded binary's SHA-256 is ${sha256(broken)}, the registry says ${claimed}; it was not run`);
    expect(existsSync(join(cacheDirectory, claimed, 'plugin'))).toBe(false);
    expect(readdirSync(join(cacheDirectory, claimed))).toEqual([]);
  }, 120_000);
});
