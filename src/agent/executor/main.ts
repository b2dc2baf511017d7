// The job executor's entry point (as Phobos's job-executor image): a dispatcher starts it with
// JOB_ID, JOB_TOKEN and API_URL, it runs that one job and exits with its result
// (0 finished, 1 failed, 2 canceled, 3 when the end could not be reported). PHOBOS_WORKSPACE, when
// set, is the directory actions run in (a fresh temporary directory otherwise). The rest of its
// settings come from the same environment: PHOBOS_PLUGIN_CACHE_DIR (plugins.ts) and the limits on
// each volume's download, PHOBOS_VOLUME_* (volumes.ts).
import { executorEnvironment } from '../../protocol/agent-v1';
import { JobClient } from './job-client';
import { ipcReportRelay } from './report-relay';
import { executorExitCodes, runJob } from './run-job';

async function main(): Promise<number> {
  const missing = Object.values(executorEnvironment)
    .filter((name) => name !== executorEnvironment.memoryLimit)
    .filter((name) => !process.env[name]);
  if (missing.length) {
    process.stderr.write(`phobos job executor: ${missing.join(', ')} must be set\n`);
    return executorExitCodes.notReported;
  }
  const env = process.env as Record<string, string>;
  // Started by the local dispatcher: its start and end go up the IPC channel to the agent's queue socket.
  const client = new JobClient(
    env[executorEnvironment.apiUrl]!,
    env[executorEnvironment.jobId]!,
    env[executorEnvironment.jobToken]!,
    undefined,
    ipcReportRelay(),
  );
  const stop = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => stop.abort());
  return runJob({ client, baseEnv: env, stop: stop.signal, workspace: process.env.PHOBOS_WORKSPACE || undefined });
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`phobos job executor: ${error.stack ?? error.message}\n`);
    process.exit(executorExitCodes.notReported);
  },
);
