// A command runs in a process group of its own (spawned detached), so stopping it reaches every
// process it started: SIGTERM to the whole group, then SIGKILL after a grace period.
import type { ChildProcess } from 'node:child_process';

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

/** Stops the child's process group: SIGTERM, then SIGKILL after `graceMs` if the child has not exited. */
export function killProcessTree(child: ChildProcess, graceMs: number): void {
  signalGroup(child, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
  timer.unref();
  child.once('exit', () => {
    clearTimeout(timer);
    // The leader is gone; processes it left behind in its group go now.
    signalGroup(child, 'SIGKILL');
  });
}

/** Kills whatever the group's leader left behind when it exited on its own. */
export function reapGroup(child: ChildProcess): void {
  signalGroup(child, 'SIGKILL');
}
