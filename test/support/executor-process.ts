// Starts the job executor as the local dispatcher does (a Node child running its entry point), for
// tests that drive it directly.
import { spawn } from 'node:child_process';
import type { JobLease } from '../../src/protocol/agent-v1';
import { executorEnvironment } from '../../src/protocol/agent-v1';

export interface ExecutorRun {
  pid: number;
  exited: Promise<{ code: number | null; stderr: string; elapsedMs: number }>;
}

export function startExecutor(apiUrl: string, lease: JobLease): ExecutorRun {
  return spawnExecutor({ [executorEnvironment.jobId]: lease.jobId, [executorEnvironment.jobToken]: lease.token, [executorEnvironment.apiUrl]: apiUrl });
}

/** The executor with `env` (what a dispatcher passed: the fakes' stand-in for a container). */
export function spawnExecutor(env: Record<string, string>): ExecutorRun & { kill(signal: NodeJS.Signals): void } {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/agent/executor/main.ts'], {
    cwd: process.cwd(),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (data: Buffer) => {
    stderr += data.toString();
  });
  const exited = new Promise<{ code: number | null; stderr: string; elapsedMs: number }>((resolve) =>
    child.once('close', (code) => resolve({ code, stderr, elapsedMs: Date.now() - started })),
  );
  return { pid: child.pid!, exited, kill: (signal) => child.kill(signal) };
}
