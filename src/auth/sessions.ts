// User sessions of the built-in identity provider. A session is a chain of refresh tokens: every
// refresh rotates the token, and a token presented twice (reuse, the mark of a stolen token)
// revokes the whole session. A user holds at most PHOBOS_USER_SESSION_MAX_SESSIONS_PER_USER live
// sessions; opening one more revokes the oldest.
import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import type { PhobosConfig } from '../config/load';
import type { HttpDatabase } from '../db/client';
import { refreshTokens, userSessions, users, type User } from '../db/schema';
import { randomSecret, sha256Hex } from './secrets';

export interface IssuedSession {
  sessionId: string;
  refreshToken: string;
  user: User;
}

export type RefreshOutcome =
  | { ok: true; session: IssuedSession }
  | { ok: false; reason: 'unknown' | 'expired' | 'revoked' | 'reused' };

const refreshPrefix = 'phr_';

export function createSessionService(db: HttpDatabase, settings: PhobosConfig['userSessions']) {
  const refreshLifetimeMs = settings.refreshTokenExpirationMinutes * 60_000;

  async function newRefreshToken(): Promise<{ token: string; hash: string }> {
    const token = `${refreshPrefix}${randomSecret()}`;
    return { token, hash: await sha256Hex(token) };
  }

  async function revokeSession(sessionId: string, reason: string): Promise<void> {
    await db
      .update(userSessions)
      .set({ revokedAt: new Date(), revokedReason: reason })
      .where(and(eq(userSessions.id, sessionId), isNull(userSessions.revokedAt)));
  }

  return {
    async open(user: User, clientId: string): Promise<IssuedSession> {
      const sessionId = crypto.randomUUID();
      const { token, hash } = await newRefreshToken();
      const expiresAt = new Date(Date.now() + refreshLifetimeMs);
      // One transaction, serialised per user by an advisory lock, so concurrent sign-ins cannot
      // leave more than the cap alive: revoke all but the newest (max - 1), then add this one.
      await db.batch([
        db.execute(sql`select pg_advisory_xact_lock(hashtext(${`sessions:${user.id}`}))`),
        db.execute(sql`
          update user_sessions set revoked_at = now(), revoked_reason = 'session_limit'
          where id in (
            select id from user_sessions
            where user_id = ${user.id} and revoked_at is null and expires_at > now()
            order by created_at desc, id desc
            offset ${settings.maxSessionsPerUser - 1}
          )`),
        db.insert(userSessions).values({ id: sessionId, userId: user.id, clientId, expiresAt }),
        db.insert(refreshTokens).values({ sessionId, tokenHash: hash, expiresAt }),
      ]);
      return { sessionId, refreshToken: token, user };
    },

    async refresh(presented: string): Promise<RefreshOutcome> {
      if (!presented.startsWith(refreshPrefix)) return { ok: false, reason: 'unknown' };
      const hash = await sha256Hex(presented);
      const [row] = await db
        .select({ token: refreshTokens, session: userSessions, user: users })
        .from(refreshTokens)
        .innerJoin(userSessions, eq(userSessions.id, refreshTokens.sessionId))
        .innerJoin(users, eq(users.id, userSessions.userId))
        .where(eq(refreshTokens.tokenHash, hash));
      if (!row) return { ok: false, reason: 'unknown' };
      if (row.token.usedAt) {
        await revokeSession(row.session.id, 'refresh_token_reuse');
        return { ok: false, reason: 'reused' };
      }
      if (row.session.revokedAt || !row.user.active) return { ok: false, reason: 'revoked' };
      const now = Date.now();
      if (row.token.expiresAt.getTime() <= now || row.session.expiresAt.getTime() <= now) return { ok: false, reason: 'expired' };

      const next = await newRefreshToken();
      const expiresAt = new Date(now + refreshLifetimeMs);
      // Consume the presented token and issue its successor atomically; if a concurrent refresh
      // consumed it first, nothing is inserted and this counts as reuse.
      const inserted = await db.execute<{ id: string }>(sql`
        with consumed as (
          update refresh_tokens set used_at = now()
          where id = ${row.token.id} and used_at is null
          returning session_id
        ), extended as (
          update user_sessions set expires_at = ${expiresAt.toISOString()}
          where id in (select session_id from consumed) and revoked_at is null
          returning id
        )
        insert into refresh_tokens (session_id, token_hash, expires_at)
        select id, ${next.hash}, ${expiresAt.toISOString()} from extended
        returning id`);
      if (inserted.rows.length === 0) {
        await revokeSession(row.session.id, 'refresh_token_reuse');
        return { ok: false, reason: 'reused' };
      }
      return { ok: true, session: { sessionId: row.session.id, refreshToken: next.token, user: row.user } };
    },

    /** Revokes the session a refresh token belongs to (RFC 7009 revocation). */
    async revokeByRefreshToken(presented: string): Promise<boolean> {
      const hash = await sha256Hex(presented);
      const [row] = await db.select({ sessionId: refreshTokens.sessionId }).from(refreshTokens).where(eq(refreshTokens.tokenHash, hash));
      if (!row) return false;
      await revokeSession(row.sessionId, 'signed_out');
      return true;
    },

    revokeSession,

    /** Sign-out everywhere: every live session of the user. */
    async revokeAll(userId: string): Promise<number> {
      const revoked = await db
        .update(userSessions)
        .set({ revokedAt: new Date(), revokedReason: 'signed_out_everywhere' })
        .where(and(eq(userSessions.userId, userId), isNull(userSessions.revokedAt)))
        .returning({ id: userSessions.id });
      return revoked.length;
    },

    async liveSessionCount(userId: string): Promise<number> {
      const rows = await db
        .select({ id: userSessions.id })
        .from(userSessions)
        .where(and(eq(userSessions.userId, userId), isNull(userSessions.revokedAt), gt(userSessions.expiresAt, new Date())));
      return rows.length;
    },
  };
}

export type SessionService = ReturnType<typeof createSessionService>;
