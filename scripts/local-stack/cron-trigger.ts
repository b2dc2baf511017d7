// The cron trigger of the local stack. wrangler's dev server does not run a Worker's cron triggers
// by itself (it only prints how to run one by hand), so without this `npm start` would never sweep
// the agents' queues (a dead agent's session would stay open and its jobs with it), send the email
// outbox, retry webhooks, rotate signing keys or apply log retention. At every time one of the
// configuration's `[triggers] crons` fires (in UTC, as Cloudflare runs them), the dev server is
// asked to run the Worker's scheduled handler with that cron and time (`/cdn-cgi/local/scheduled`,
// the route wrangler itself names). Each cron also runs once at start: the tasks are repairs and
// catch up on what was due while the stack was down. A run still going when the next is due makes
// that one skipped, not queued, as a slow run on Cloudflare does not pile up either.
import { CronExpressionParser } from 'cron-parser';
import { unstable_readConfig } from 'wrangler';

/** An hour: a timer armed for longer is re-armed in steps. */
const longestTimerMs = 3_600_000;

export interface CronTrigger {
  /** Stops scheduling runs, and gives up waiting for the answer of any run under way. */
  stop(): Promise<void>;
}

export interface CronTriggerOptions {
  /** The dev server's base URL. */
  url: string;
  crons: readonly string[];
  log: (message: string) => void;
}

/** The cron expressions the Worker's configuration declares (`[triggers] crons`). */
export function configuredCrons(configPath: string): string[] {
  return unstable_readConfig({ config: configPath }).triggers?.crons ?? [];
}

/** When `cron` next fires after `after` (UTC). Throws, naming the expression, when it is not a cron expression. */
export function nextRun(cron: string, after: Date): Date {
  try {
    return CronExpressionParser.parse(cron, { currentDate: after, tz: 'UTC' }).next().toDate();
  } catch (error) {
    throw new Error(`[triggers] crons: "${cron}" is not a cron expression (${(error as Error).message})`);
  }
}

export function startCronTrigger(options: CronTriggerOptions): CronTrigger {
  /** Aborted at stop, which also aborts the runs under way: the launcher stops the dev server next, which ends them anyway. */
  const stopping = new AbortController();
  const stopped = () => stopping.signal.aborted;
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const running = new Set<Promise<void>>();

  const run = async (cron: string, time: Date) => {
    const query = new URLSearchParams({ cron, time: String(time.getTime()), format: 'json' });
    try {
      const response = await fetch(`${options.url}/cdn-cgi/local/scheduled?${query}`, { signal: stopping.signal });
      const body = (await response.json().catch(() => null)) as { outcome?: string } | null;
      if (!response.ok || body?.outcome !== 'ok') options.log(`cron "${cron}" at ${time.toISOString()}: ${body?.outcome ?? `HTTP ${response.status}`}`);
    } catch (error) {
      if (!stopped()) options.log(`cron "${cron}" at ${time.toISOString()} not run: ${(error as Error).message}`);
    }
  };

  /** Calls `then` at `at`, in steps a timer can take (a delay over about 24.8 days would fire at once). */
  const at = (when: Date, then: () => void) => {
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        if (stopped()) return;
        if (Date.now() < when.getTime()) at(when, then);
        else then();
      },
      Math.min(Math.max(0, when.getTime() - Date.now()), longestTimerMs),
    );
    timers.add(timer);
  };

  const loop = (cron: string, time: Date) => {
    const started = run(cron, time).finally(() => {
      running.delete(started);
      if (stopped()) return;
      const next = nextRun(cron, new Date());
      at(next, () => loop(cron, next));
    });
    running.add(started);
  };

  // Every expression is checked before the first run, so a bad one stops the start.
  for (const cron of options.crons) nextRun(cron, new Date());
  for (const cron of options.crons) loop(cron, new Date());

  return {
    async stop() {
      stopping.abort();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.all(running);
    },
  };
}
