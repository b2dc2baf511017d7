// Slows password guessing: per account, 5 failures within 15 minutes lock it for 15 minutes; per
// client IP, 20 failures. Counters live in Postgres so every isolate sees the same numbers.
import { sql } from 'drizzle-orm';
import type { HttpDatabase } from '../../db/client';

export const throttlePolicy = {
  account: { maxFailures: 5, windowSeconds: 900, lockSeconds: 900 },
  ip: { maxFailures: 20, windowSeconds: 900, lockSeconds: 900 },
} as const;

type Kind = keyof typeof throttlePolicy;

const keyOf = (kind: Kind, value: string) => `${kind}:${value.toLowerCase()}`;

export function createLoginThrottle(db: HttpDatabase) {
  return {
    /** Seconds until the earliest lock among `subjects` ends, or 0 when none is locked. */
    async lockedFor(subjects: Partial<Record<Kind, string>>): Promise<number> {
      const keys = Object.entries(subjects).map(([kind, value]) => keyOf(kind as Kind, value!));
      const rows = await db.execute<{ seconds: number | null }>(sql`
        select ceil(extract(epoch from max(locked_until) - now()))::int as seconds
        from login_throttle where key in ${keys.length ? sql`(${sql.join(keys.map((key) => sql`${key}`), sql`, `)})` : sql`('')`}
          and locked_until > now()`);
      return Number(rows.rows[0]?.seconds ?? 0);
    },

    async recordFailure(subjects: Partial<Record<Kind, string>>): Promise<void> {
      for (const [kind, value] of Object.entries(subjects) as [Kind, string][]) {
        const policy = throttlePolicy[kind];
        // Start a new window when the old one is over; lock once the count reaches the maximum.
        await db.execute(sql`
          insert into login_throttle as t (key, failures, window_started_at)
          values (${keyOf(kind, value)}, 1, now())
          on conflict (key) do update set
            failures = case when t.window_started_at < now() - make_interval(secs => ${policy.windowSeconds}) then 1 else t.failures + 1 end,
            window_started_at = case when t.window_started_at < now() - make_interval(secs => ${policy.windowSeconds}) then now() else t.window_started_at end,
            locked_until = case
              when t.window_started_at >= now() - make_interval(secs => ${policy.windowSeconds}) and t.failures + 1 >= ${policy.maxFailures}
              then now() + make_interval(secs => ${policy.lockSeconds}) else t.locked_until end`);
      }
    },

    async recordSuccess(account: string): Promise<void> {
      await db.execute(sql`delete from login_throttle where key = ${keyOf('account', account)}`);
    },
  };
}
