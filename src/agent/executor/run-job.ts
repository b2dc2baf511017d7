// One job, start to end: fetch its inputs, mark it running (a job canceled meanwhile is left alone),
// mount its volumes (volumes.ts), run its actions in order while watching for cancellation and the
// maximum duration, ship the masked log, and report the status with every action's outputs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { FinishRequest, JobInputs } from '../../protocol/agent-v1';
import { executorEnvironment, withJwts } from '../../protocol/agent-v1';
import { ActionInputError, execCommand } from './exec-command';
import { ApiError } from '../http';
import type { JobClient } from './job-client';
import { LogShipper } from './log-shipper';
import { installPlugin, PluginError, pluginCacheDirectory, privateCopy, runPluginAction } from './plugins';
import { Masker } from './masker';
import { mountVolume, VolumeError, volumeLimitsFrom } from './volumes';

/** Exit codes of the executor: the job's end as reported, or that it could not be reported. */
export const executorExitCodes = { FINISHED: 0, FAILED: 1, CANCELED: 2, notReported: 3 } as const;

export interface RunJobOptions {
  client: JobClient;
  /** Where actions run; a fresh temporary directory when not given. */
  workspace?: string;
  /** Environment the commands start from (the executor's own, without the job token). */
  baseEnv: Record<string, string>;
  cancellationPollMs?: number;
  killGraceMs?: number;
  logIntervalMs?: number;
  logMaxChunkBytes?: number;
  /** Aborted when the executor itself is told to stop (SIGTERM from a dispatcher's cancel). */
  stop?: AbortSignal;
  /** The executor's own diagnostics (stderr). */
  report?: (message: string) => void;
}

type StopReason = 'canceled' | 'timeout' | 'stopped';

export async function runJob(options: RunJobOptions): Promise<number> {
  const { client } = options;
  const report = options.report ?? ((message: string) => process.stderr.write(`${message}\n`));
  const inputs = await client.inputs();
  if (!(await client.running())) {
    report(`job ${client.jobId} was canceled before it started`);
    return executorExitCodes.CANCELED;
  }
  const workspace = options.workspace ?? mkdtempSync(join(tmpdir(), `phobos-job-${client.jobId}-`));
  const log = new LogShipper(client, {
    spoolPath: join(tmpdir(), `phobos-log-${client.jobId}-${process.pid}`),
    intervalMs: options.logIntervalMs,
    maxChunkBytes: options.logMaxChunkBytes,
    report,
  });

  const controller = new AbortController();
  let stopReason: StopReason | null = null;
  const stopWith = (reason: StopReason) => {
    if (stopReason) return;
    stopReason = reason;
    controller.abort();
  };
  const poll = setInterval(() => {
    client.cancelRequested().then(
      (requested) => requested && stopWith('canceled'),
      (error: Error) => report(`cancellation check failed: ${error.message}`),
    );
  }, options.cancellationPollMs ?? 2_000);
  const deadline = setTimeout(() => stopWith('timeout'), inputs.maxDurationSeconds * 1000);
  const onStop = () => stopWith('stopped');
  options.stop?.addEventListener('abort', onStop, { once: true });

  let finish: FinishRequest;
  try {
    // Told to stop: if it is because the job was canceled (a dispatcher's cancel can race the
    // executor's own poll), the job ends CANCELED rather than FAILED.
    const reasonNow = async () => {
      if (stopReason === 'stopped' && (await client.cancelRequested().catch(() => false))) stopReason = 'canceled';
      return stopReason;
    };
    finish = await runActions(inputs, { ...options, workspace, log, signal: controller.signal, stopReason: reasonNow });
  } finally {
    clearInterval(poll);
    clearTimeout(deadline);
    options.stop?.removeEventListener('abort', onStop);
  }
  await log.close();
  // A workspace the executor made is its own to remove; one it was given belongs to whoever gave it.
  if (!options.workspace) rmSync(workspace, { recursive: true, force: true, maxRetries: 2 });
  if (log.truncated) finish.reason = [finish.reason, 'the log was truncated at its size limit'].filter(Boolean).join('; ');
  try {
    await client.finish(finish);
  } catch (error) {
    // Outputs the API refuses (over its size, or text it cannot store): the job still ends, FAILED
    // and saying why, rather than left for its lease to expire.
    if (!(error instanceof ApiError && error.status === 400 && finish.outputs !== undefined)) {
      report(`could not report the job's end: ${(error as Error).message}`);
      return executorExitCodes.notReported;
    }
    finish = { status: 'FAILED', reason: `the job's outputs were refused: ${error.body}`.slice(0, 4096) };
    try {
      await client.finish(finish);
    } catch (again) {
      report(`could not report the job's end: ${(again as Error).message}`);
      return executorExitCodes.notReported;
    }
  }
  return executorExitCodes[finish.status];
}

interface ActionsContext extends RunJobOptions {
  workspace: string;
  log: LogShipper;
  signal: AbortSignal;
  stopReason: () => Promise<StopReason | null>;
}

async function runActions(inputs: JobInputs, context: ActionsContext): Promise<FinishRequest> {
  const { log } = context;
  const masker = new Masker(inputs.sensitiveValues);
  const line = (text: string) => log.write(masker.push(`${text}\n`) + masker.end());
  const outputs: Record<string, Record<string, unknown>> = {};
  const baseEnv = { ...context.baseEnv };
  // The job token finishes the job: the commands the job runs have no business holding it.
  delete baseEnv[executorEnvironment.jobToken];

  const cacheDirectory = pluginCacheDirectory(context.baseEnv);

  const unmounted = await mountVolumes(inputs, context, line);
  if (unmounted) return unmounted;

  for (const [index, action] of inputs.actions.entries()) {
    const key = action.alias ?? action.name;
    const builtIn = action.pluginName === 'exec' && action.actionName === 'command';
    const plugin = builtIn ? undefined : inputs.plugins?.find((candidate) => candidate.name === action.pluginName);
    if (!builtIn && !plugin) {
      line(
        `[phobos] action "${key}": plugin "${action.pluginName}" action "${action.actionName}" is not supported by this executor (it runs exec_command and the template's plugin_requirements)`,
      );
      return { status: 'FAILED', outputs, reason: `action "${key}": unsupported plugin action ${action.pluginName}_${action.actionName}` };
    }
    line(`[phobos] action "${key}" (${action.name})`);
    // One masker per stream: a secret split across two reads of stdout is still caught, and
    // stderr's text is never held back behind stdout's.
    const streams = { stdout: new Masker(inputs.sensitiveValues), stderr: new Masker(inputs.sensitiveValues) };
    const actionInputs = withJwts(action.inputs, inputs.jwts) as typeof action.inputs;
    let result: { outputs: Record<string, unknown>; failure?: string };
    try {
      if (plugin) {
        const { path, cached } = await installPlugin(plugin, cacheDirectory, context.signal);
        line(
          `[phobos] plugin "${plugin.name}" ${plugin.source} ${plugin.version} (sha256 ${plugin.sha256}): ${cached ? 'from the cache' : 'downloaded and verified'}`,
        );
        // What runs is this action's own verified copy, never the shared cache's file.
        const runDirectory = mkdtempSync(join(tmpdir(), 'phobos-plugin-run-'));
        const ran = await privateCopy(plugin, path, runDirectory)
          .then((binary) =>
            runPluginAction(
              binary,
              plugin,
              { action: action.actionName, inputs: actionInputs },
              {
                workspace: context.workspace,
                baseEnv,
                log: (text) => log.write(streams.stdout.push(`${text}\n`)),
                stderr: (text) => log.write(streams.stderr.push(text)),
                signal: context.signal,
                killGraceMs: context.killGraceMs ?? 2_000,
              },
            ),
          )
          .finally(() => rmSync(runDirectory, { recursive: true, force: true }));
        result = { outputs: ran.outputs, failure: ran.success ? undefined : `action "${key}" failed: ${ran.error}` };
      } else {
        const ran = await execCommand(actionInputs, {
          workspace: context.workspace,
          actionIndex: index,
          baseEnv,
          volumes: inputs.volumes,
          output: (stream, text) => log.write(streams[stream].push(text)),
          signal: context.signal,
          killGraceMs: context.killGraceMs ?? 2_000,
        });
        const how = ran.exitCode === null ? `was killed by ${ran.signal}` : `exited with code ${ran.exitCode}`;
        result = { outputs: ran.outputs, failure: ran.exitCode === 0 ? undefined : `action "${key}" ${how}` };
      }
    } catch (error) {
      if (!(error instanceof ActionInputError) && !(error instanceof PluginError)) throw error;
      // A download cut short by a cancel is the cancel, not a plugin failure.
      const stopped = await context.stopReason();
      if (stopped === 'canceled') {
        line(`[phobos] action "${key}": canceled`);
        return { status: 'CANCELED', outputs };
      }
      line(`[phobos] ${error.message}`);
      return { status: 'FAILED', outputs, reason: `action "${key}": ${error.message}` };
    } finally {
      log.write(streams.stdout.end());
      log.write(streams.stderr.end());
    }
    const stopped = stoppedEnd(await context.stopReason(), `action "${key}"`, inputs, outputs, line);
    if (stopped) return stopped;
    outputs[key] = result.outputs;
    if (result.failure) {
      line(`[phobos] ${result.failure}`);
      return { status: 'FAILED', outputs, reason: result.failure };
    }
  }
  return { status: 'FINISHED', outputs };
}

/**
 * Every volume the task mounts, fetched into the workspace before the first action runs; the
 * job's end when one cannot be (FAILED with the reason naming the volume, or CANCELED), else null.
 */
async function mountVolumes(inputs: JobInputs, context: ActionsContext, line: (text: string) => void): Promise<FinishRequest | null> {
  for (const volume of inputs.volumes) {
    const source = volume.vcs ? ` (${volume.vcs.repositoryPath}${volume.vcs.ref === null ? '' : ` at ${volume.vcs.ref}`})` : '';
    try {
      // The executor's PHOBOS_VOLUME_* limits: a malformed one fails the job here, naming it.
      const directory = await mountVolume(volume, context.workspace, context.signal, volumeLimitsFrom(context.baseEnv));
      const also = volume.mountPath === null ? '' : `, also at ${volume.mountPath}`;
      line(`[phobos] volume "${volume.name}"${source}: mounted at ${relative(context.workspace, directory)}${also}`);
    } catch (error) {
      const stopped = stoppedEnd(await context.stopReason(), `volume "${volume.name}"`, inputs, {}, line);
      if (stopped) return stopped;
      // A file system error (no space, no permission) fails the job as plainly as a download error.
      const reason = error instanceof VolumeError ? error.message : `volume "${volume.name}": ${(error as Error).message}`;
      line(`[phobos] ${reason}`);
      return { status: 'FAILED', outputs: {}, reason };
    }
  }
  return null;
}

/**
 * The job's end when the executor was told to stop while `what` (`action "build"`, `volume "repo"`)
 * ran, said in the log: CANCELED for a cancel, FAILED with the reason for the maximum duration or a
 * stop from the agent; null when nothing stopped it.
 */
function stoppedEnd(
  stopped: StopReason | null,
  what: string,
  inputs: JobInputs,
  outputs: Record<string, Record<string, unknown>>,
  line: (text: string) => void,
): FinishRequest | null {
  if (stopped === 'canceled') {
    line(`[phobos] ${what}: canceled`);
    return { status: 'CANCELED', outputs };
  }
  if (stopped === 'timeout') {
    const reason = `the job exceeded its maximum duration of ${inputs.maxDurationSeconds} s`;
    line(`[phobos] ${what}: stopped: ${reason}`);
    return { status: 'FAILED', outputs, reason };
  }
  if (stopped === 'stopped') {
    const reason = 'the executor was stopped (agent shutdown or dispatcher cancel)';
    line(`[phobos] ${what}: ${reason}`);
    return { status: 'FAILED', outputs, reason };
  }
  return null;
}
