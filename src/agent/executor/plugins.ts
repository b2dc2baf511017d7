// External plugins (a template's plugin_requirements, resolved from the registry by the server):
// the binary is downloaded from its short-lived URL, its SHA-256 checked against the registry's, and
// kept in a cache keyed by that SHA-256 (PHOBOS_PLUGIN_CACHE_DIR, default ~/.cache/phobos-edge/plugins),
// so a plugin is downloaded once per machine. The cache is not trusted: every job's commands run as
// the agent's user and could replace a cached binary for the next job (another organization's, on a
// shared agent), so a cached file is hashed again before each use (a mismatch or anything but a plain
// file is thrown away and downloaded afresh), and what runs is a copy in the job's own directory,
// hashed after copying, so the cache cannot be swapped between the check and the run.
//
// An action `<plugin>_<action>` runs the binary as a child process speaking JSON over stdio
// (protocol `phobos-plugin/v1`):
// - stdin: one JSON line, then end of input:
//     {"protocol":"phobos-plugin/v1","action":"<action>","inputs":{...},"config":{...},
//      "plugin":{"name":"...","source":"...","version":"..."},"workspace":"/abs/path"}
// - stdout: one JSON object per line —
//     {"type":"log","message":"..."}            a line for the job's log
//     {"type":"output","name":"...","value":…}   an output of the action (any JSON value)
//     {"type":"result","success":true}           the end: success
//     {"type":"result","success":false,"error":"..."}   the end: failure, with why
//   a line that is not such an object goes to the log as it is.
// - stderr goes to the log as it is.
// The action succeeds when the plugin sent a successful result and exited with 0. It runs in the
// job's workspace, in its own process group, and is stopped like exec_command on cancel or timeout.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, createReadStream, createWriteStream, lstatSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { StringDecoder } from 'node:string_decoder';
import type { JobPlugin } from '../../protocol/agent-v1';
import { ActionInputError } from './exec-command';
import { killProcessTree, reapGroup } from './process-tree';

const pluginProtocol = 'phobos-plugin/v1';

/** A plugin that cannot be used: the job fails with this message. */
export class PluginError extends Error {}

export function pluginCacheDirectory(env: Record<string, string | undefined>): string {
  return env.PHOBOS_PLUGIN_CACHE_DIR || join(env.XDG_CACHE_HOME || join(homeOrTemporary(), '.cache'), 'phobos-edge', 'plugins');
}

/** The home directory; a temporary one where there is none (the executor image has no user database). */
function homeOrTemporary(): string {
  try {
    return homedir() || tmpdir();
  } catch {
    return tmpdir();
  }
}

const label = (plugin: JobPlugin) => `plugin "${plugin.name}" (${plugin.source} ${plugin.version ?? ''})`.replace(' )', ')');

/** The path of the plugin's verified binary: from the cache, or downloaded and verified now. */
export async function installPlugin(plugin: JobPlugin, cacheDirectory: string, signal?: AbortSignal): Promise<{ path: string; cached: boolean }> {
  if (plugin.problem) throw new PluginError(plugin.problem);
  if (!plugin.url || !plugin.sha256) throw new PluginError(`${label(plugin)}: the server gave no binary to download`);
  const sha256 = plugin.sha256.toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new PluginError(`${label(plugin)}: the registry's SHA-256 is malformed`);
  const directory = join(cacheDirectory, sha256);
  const path = join(directory, 'plugin');
  if (await isVerifiedFile(path, sha256)) return { path, cached: true };
  rmSync(path, { force: true });
  mkdirSync(directory, { recursive: true });
  const partial = join(directory, `.download-${process.pid}-${Date.now()}`);
  try {
    const response = await fetch(plugin.url, { signal });
    if (!response.ok || !response.body) throw new PluginError(`${label(plugin)}: the download failed with HTTP ${response.status}`);
    const hash = createHash('sha256');
    const body = Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>);
    // The registry knows the binary's size: a download that goes past it is not the binary, and is
    // stopped there rather than filling the disk before the checksum could say so.
    let received = 0;
    body.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (plugin.sizeBytes !== null && received > plugin.sizeBytes) {
        body.destroy(new PluginError(`${label(plugin)}: the download is larger than the ${plugin.sizeBytes} bytes the registry says; it was not run`));
        return;
      }
      hash.update(chunk);
    });
    await pipeline(body, createWriteStream(partial, { mode: 0o700 }));
    const actual = hash.digest('hex');
    if (actual !== sha256) {
      throw new PluginError(`${label(plugin)}: checksum mismatch: the downloaded binary's SHA-256 is ${actual}, the registry says ${sha256}; it was not run`);
    }
    chmodSync(partial, 0o755);
    renameSync(partial, path);
    return { path, cached: false };
  } catch (error) {
    rmSync(partial, { force: true });
    if (error instanceof PluginError) throw error;
    throw new PluginError(`${label(plugin)}: the download failed: ${(error as Error).message}`);
  }
}

/** A plain file (not a link, not a directory) whose SHA-256 is `sha256`. */
async function isVerifiedFile(path: string, sha256: string): Promise<boolean> {
  try {
    if (!lstatSync(path).isFile()) return false;
  } catch {
    return false;
  }
  return (await fileSha256(path)) === sha256;
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/**
 * The binary to run: a copy of the verified one in `directory` (the job's own, removed with it),
 * hashed after copying, so nothing another process does to the cache reaches this run.
 */
export async function privateCopy(plugin: JobPlugin, verified: string, directory: string): Promise<string> {
  const sha256 = plugin.sha256!.toLowerCase();
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  const copy = join(directory, `${sha256}-plugin`);
  rmSync(copy, { force: true });
  copyFileSync(verified, copy);
  chmodSync(copy, 0o700);
  if (!(await isVerifiedFile(copy, sha256))) {
    rmSync(copy, { force: true });
    throw new PluginError(`${label(plugin)}: the cached binary changed while it was being copied; it was not run`);
  }
  return copy;
}

interface PluginActionContext {
  workspace: string;
  baseEnv: Record<string, string>;
  /** One line of the plugin's log (its log messages, stray stdout lines). */
  log: (text: string) => void;
  /** Its stderr, as it comes. */
  stderr: (text: string) => void;
  signal: AbortSignal;
  killGraceMs: number;
}

export interface PluginActionResult {
  success: boolean;
  /** Why it failed, when it did. */
  error?: string;
  outputs: Record<string, unknown>;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

/** Runs one action of an installed plugin over the stdio protocol. */
export async function runPluginAction(
  binary: string,
  plugin: JobPlugin,
  request: { action: string; inputs: Record<string, unknown> },
  context: PluginActionContext,
): Promise<PluginActionResult> {
  const child = spawn(binary, [], {
    cwd: context.workspace,
    env: { ...context.baseEnv, PHOBOS_PLUGIN_PROTOCOL: pluginProtocol },
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const outputs: Record<string, unknown> = {};
  let result: { success: boolean; error?: string } | undefined;
  const handleLine = (line: string) => {
    if (!line.trim()) return;
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      context.log(line);
      return;
    }
    const m = message as { type?: unknown; message?: unknown; name?: unknown; value?: unknown; success?: unknown; error?: unknown };
    if (m?.type === 'log' && typeof m.message === 'string') context.log(m.message);
    else if (m?.type === 'output' && typeof m.name === 'string' && m.name) outputs[m.name] = m.value ?? null;
    else if (m?.type === 'result' && typeof m.success === 'boolean') result = { success: m.success, error: typeof m.error === 'string' ? m.error : undefined };
    else context.log(line);
  };
  const stdout = new StringDecoder('utf8');
  let pending = '';
  child.stdout.on('data', (data: Buffer) => {
    pending += stdout.write(data);
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) handleLine(line.replace(/\r$/, ''));
  });
  const stderr = new StringDecoder('utf8');
  child.stderr.on('data', (data: Buffer) => context.stderr(stderr.write(data)));
  const closed = new Promise<void>((done) => child.once('close', () => done()));
  // A plugin that exits without reading its input must not crash the executor with EPIPE.
  child.stdin.on('error', () => {});
  child.stdin.end(
    `${JSON.stringify({
      protocol: pluginProtocol,
      action: request.action,
      inputs: request.inputs,
      config: plugin.config,
      plugin: { name: plugin.name, source: plugin.source, version: plugin.version },
      workspace: context.workspace,
    })}\n`,
  );
  const stop = () => killProcessTree(child, context.killGraceMs);
  if (context.signal.aborted) stop();
  else context.signal.addEventListener('abort', stop, { once: true });

  const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done, fail) => {
    child.once('error', (error) => fail(new ActionInputError(`${label(plugin)}: cannot start its binary: ${error.message}`)));
    child.once('exit', (code, signalName) => {
      reapGroup(child);
      done([code, signalName]);
    });
  });
  await closed;
  context.signal.removeEventListener('abort', stop);
  pending += stdout.end();
  if (pending) handleLine(pending);
  context.stderr(stderr.end());

  if (exitCode !== 0) {
    const how = exitCode === null ? `was killed by ${signal}` : `exited with code ${exitCode}`;
    return { success: false, error: result?.error ? `${result.error} (the plugin ${how})` : `the plugin ${how}`, outputs, exitCode, signal };
  }
  if (!result) return { success: false, error: 'the plugin ended without sending a result', outputs, exitCode, signal };
  return { success: result.success, error: result.success ? undefined : (result.error ?? 'the plugin reported a failure'), outputs, exitCode, signal };
}
