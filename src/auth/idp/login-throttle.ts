// Slows password guessing without handing strangers a way to lock people out. The policy:
//
//   - An account is counted as one, whatever name it is signed in with: the login is resolved to
//     the user (`user:<id>`), so `admin` and the admin's email share one budget. A login that
//     names no user is counted under its normalised spelling (`login:<trimmed, lower-case>`), so
//     guesses at unknown names are limited the same way and reveal nothing.
//   - Per (account, client address): 5 failures within 15 minutes lock that pair for 15 minutes.
//     This is what stops a guesser; it locks the guesser's address out of the account, not the
//     account: its owner, signing in from another address, is not affected.
//   - Per client address, over all accounts: 20 failures within 15 minutes lock the address for
//     15 minutes (one address spraying passwords over many accounts).
//   - Per account, over all addresses: counted but never locked. A lock anyone can trigger from
//     addresses of their own would be a denial of service on the owner (admin included); guessing
//     from many addresses is bounded by the limits above per address, slowed by Argon2id, and
//     logged as a warning from 50 failures in the window so an operator can act.
//
// What counts as the client address is decided in http/client-ip.ts. Counters live in Postgres so
// every isolate sees the same numbers; a success clears its (account, address) pair.
import { sql } from 'drizzle-orm';
import type { HttpDatabase } from '../../db/client';
import type { User } from '../../db/schema';

const throttlePolicy = {
  pair: { maxFailures: 5, windowSeconds: 900, lockSeconds: 900 },
  address: { maxFailures: 20, windowSeconds: 900, lockSeconds: 900 },
  account: { maxFailures: 50, windowSeconds: 900, lockSeconds: 0 },
} as const;

type Counter = keyof typeof throttlePolicy;

/** A sign-in attempt as the throttle sees it. */
interface SignInAttempt {
  /** From accountKeyFor: the same for every name of one account. */
  account: string;
  address: string;
}

export function accountKeyFor(user: Pick<User, 'id'> | undefined, login: string): string {
  return user ? `user:${user.id}` : `login:${login.trim().toLowerCase()}`;
}

function keysOf(attempt: SignInAttempt): Record<Counter, string> {
  return {
    pair: `pair:${attempt.account}|${attempt.address}`,
    address: `address:${attempt.address}`,
    account: `account:${attempt.account}`,
  };
}

export function createLoginThrottle(db: HttpDatabase) {
  return {
    /** Seconds until the lock on this attempt's (account, address) pair or address ends, or 0. */
    async lockedFor(attempt: SignInAttempt): Promise<number> {
      const keys = keysOf(attempt);
      const rows = await db.execute<{ seconds: number | null }>(sql`
        select ceil(extract(epoch from max(locked_until) - now()))::int as seconds
        from login_throttle where key in (${keys.pair}, ${keys.address}) and locked_until > now()`);
      return Number(rows.rows[0]?.seconds ?? 0);
    },

    /** Counts a failure against every counter; returns the account's failures in its window. */
    async recordFailure(attempt: SignInAttempt): Promise<{ accountFailures: number }> {
      const keys = keysOf(attempt);
      let accountFailures = 0;
      for (const counter of Object.keys(throttlePolicy) as Counter[]) {
        const policy = throttlePolicy[counter];
        // Start a new window when the old one is over; lock once the count reaches the maximum
        // (for counters that lock at all).
        const rows = await db.execute<{ failures: number }>(sql`
          insert into login_throttle as t (key, failures, window_started_at)
          values (${keys[counter]}, 1, now())
          on conflict (key) do update set
            failures = case when t.window_started_at < now() - make_interval(secs => ${policy.windowSeconds}) then 1 else t.failures + 1 end,
            window_started_at = case when t.window_started_at < now() - make_interval(secs => ${policy.windowSeconds}) then now() else t.window_started_at end,
            locked_until = case
              when ${policy.lockSeconds} > 0 and t.window_started_at >= now() - make_interval(secs => ${policy.windowSeconds}) and t.failures + 1 >= ${policy.maxFailures}
              then now() + make_interval(secs => ${policy.lockSeconds}) else t.locked_until end
          returning failures`);
        if (counter === 'account') accountFailures = Number(rows.rows[0]?.failures ?? 0);
      }
      return { accountFailures };
    },

    /** Whether the account's failures over all addresses call for an operator's attention. */
    isUnderDistributedGuessing: (accountFailures: number) => accountFailures >= throttlePolicy.account.maxFailures,

    async recordSuccess(attempt: SignInAttempt): Promise<void> {
      await db.execute(sql`delete from login_throttle where key = ${keysOf(attempt).pair}`);
    },
  };
}
