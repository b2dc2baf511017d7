// A real Docker engine for tests: its own dockerd (own socket, data and exec roots under a temporary
// directory, so it disturbs nothing else), started with `--iptables=false --bridge=none` as this
// machine allows: containers use the host's network. Needs root and Debian's docker.io package
// (`apt-get install -y docker.io`; .ci/run installs it). Stopped by its PID.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface DockerEngine {
  socketPath: string;
  /** Runs the docker CLI against this engine. */
  cli(args: string[], options?: { timeoutMs?: number }): string;
  stop(): Promise<void>;
}

function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', method: 'GET', timeout: 1_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export async function startDockerEngine(): Promise<DockerEngine> {
  try {
    execFileSync('dockerd', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('dockerd is not installed: apt-get install -y docker.io (the docker dispatcher is tested against a real engine)');
  }
  const root = mkdtempSync(join(tmpdir(), 'phobos-dockerd-'));
  const socketPath = join(root, 'docker.sock');
  const daemon: ChildProcess = spawn(
    'dockerd',
    [
      '--iptables=false',
      '--bridge=none',
      '--host',
      `unix://${socketPath}`,
      '--data-root',
      join(root, 'data'),
      '--exec-root',
      join(root, 'exec'),
      '--pidfile',
      join(root, 'docker.pid'),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  daemon.stderr?.on('data', (data: Buffer) => {
    log = (log + data.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => daemon.once('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  while (!(await ping(socketPath))) {
    if (daemon.exitCode !== null || Date.now() > deadline) {
      daemon.kill('SIGKILL');
      throw new Error(`dockerd did not start: ${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    socketPath,
    cli: (args, options = {}) => execFileSync('docker', ['-H', `unix://${socketPath}`, ...args], { encoding: 'utf8', timeout: options.timeoutMs ?? 120_000 }),
    async stop() {
      daemon.kill('SIGTERM');
      const killTimer = setTimeout(() => daemon.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(killTimer);
      // dockerd leaves its network namespace mounted under the exec root: unmount what it left.
      const leftMounts = readFileSync('/proc/mounts', 'utf8')
        .split('\n')
        .map((line) => line.split(' ')[1] ?? '')
        .filter((mountPoint) => mountPoint.startsWith(root));
      for (const mountPoint of leftMounts.reverse()) spawnSync('umount', ['-l', mountPoint]);
      rmSync(root, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}
