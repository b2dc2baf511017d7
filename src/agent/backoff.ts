// Reconnects and retries wait with exponential backoff and full jitter (a uniform draw between 0 and
// the exponential ceiling): after a deploy drops every agent's socket at once, the agents spread
// their reconnects over the window instead of arriving together.

/** Milliseconds to wait before retry number `attempt` (0-based). */
export function backoffDelay(
  attempt: number,
  { baseMs = 250, capMs = 30_000 }: { baseMs?: number; capMs?: number } = {},
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
