// The `local` dispatcher: the job executor as a child process on the agent's own machine, started
// from this repository's executor entry point (as the Phobos agent runs its job executor binary).
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RelayedAnswer, relayedReport, type ReportRelay } from '../executor/report-relay';
import type { DispatchedJob, Dispatcher, DispatchOutcome } from './dispatcher';

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const executorEntry = resolve(repositoryRoot, 'src/agent/executor/main.ts');

/**
 * What the executor (and so every command of the job) inherits from the agent's environment: what a
 * process needs to run, find its tools and reach the network, the plugin cache's place and the volume
 * limits. Nothing else — in particular never the agent's own credential (PHOBOS_AGENT_API_KEY) or the
 * operator's other secrets, which a job's commands would otherwise read.
 */
const inheritedVariables = new Set([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'LC_ALL',
  'LC_CTYPE',
  'TZ',
  'TMPDIR',
  'TEMP',
  'TMP',
  'XDG_CACHE_HOME',
  'PHOBOS_PLUGIN_CACHE_DIR',
  'PHOBOS_VOLUME_MAX_DOWNLOAD_BYTES',
  'PHOBOS_VOLUME_MAX_EXTRACTED_BYTES',
  'PHOBOS_VOLUME_MAX_ENTRIES',
  'PHOBOS_VOLUME_FETCH_TIMEOUT_SECONDS',
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
]);

export function executorProcessEnvironment(agentEnv: NodeJS.ProcessEnv, jobEnv: Record<string, string>): Record<string, string> {
  const inherited = Object.entries(agentEnv).filter((entry): entry is [string, string] => inheritedVariables.has(entry[0]) && entry[1] !== undefined);
  return { ...Object.fromEntries(inherited), ...jobEnv };
}

/** After a cancel, how long the executor has to report before it is killed. */
const cancelGraceMs = 15_000;

export class LocalDispatcher implements Dispatcher {
  constructor(private readonly output: (jobId: string, text: string) => void = (jobId, text) => process.stderr.write(prefixLines(`[job ${jobId}] `, text))) {}

  async start(jobId: string, env: Record<string, string>, relay?: ReportRelay): Promise<DispatchedJob> {
    // `--import tsx` resolves from the working directory: the repository's, where tsx is installed.
    const child = spawn(process.execPath, ['--import', 'tsx', executorEntry], {
      cwd: repositoryRoot,
      env: executorProcessEnvironment(process.env, env),
      // An IPC channel when the agent can relay the job's start and end on its queue socket.
      stdio: relay ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (data: Buffer) => this.output(jobId, data.toString()));
    child.stderr!.on('data', (data: Buffer) => this.output(jobId, data.toString()));
    if (relay) relayReports(jobId, child, relay, this.output);
    const outcome = exited(child);
    await new Promise<void>((started, failed) => {
      child.once('spawn', started);
      child.once('error', failed);
    });
    return {
      wait: () => outcome,
      cancel: async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), cancelGraceMs);
        timer.unref();
        child.once('exit', () => clearTimeout(timer));
      },
    };
  }
}

/** The executor's reports up its IPC channel, through `relay`, each answer sent back (null when not carried). */
function relayReports(jobId: string, child: ChildProcess, relay: ReportRelay, output: (jobId: string, text: string) => void): void {
  child.on('message', (message: unknown) => {
    const parsed = relayedReport.safeParse(message);
    if (!parsed.success) {
      output(jobId, `the executor sent a message that is not a report: ${parsed.error.issues[0]?.message ?? 'invalid'}\n`);
      return;
    }
    const { id, report } = parsed.data;
    relay(report)
      .catch(() => null)
      .then((answer) => {
        // Gone meanwhile (it exited, or was killed): nobody is waiting for the answer.
        if (!child.connected) return;
        child.send({ type: 'reported', id, answer } satisfies RelayedAnswer, (error) => {
          if (error) output(jobId, `the report's answer did not reach the executor: ${error.message}\n`);
        });
      });
  });
}

function exited(child: ChildProcess): Promise<DispatchOutcome> {
  return new Promise((resolveOutcome) =>
    child.once('close', (code, signal) =>
      resolveOutcome({ exitCode: code, detail: signal ? `the executor was killed by ${signal}` : `the executor exited with code ${code}` }),
    ),
  );
}

function prefixLines(prefix: string, text: string): string {
  return text.replace(/^(?=.)/gm, prefix);
}
