// User sessions of the built-in identity provider. A session is a chain of refresh tokens: every
// refresh rotates the token, and a token presented twice (reuse, the mark of a stolen token)
// revokes the whole session, unless the second presentation comes within refreshReuseGraceMs of
// the first (then it gets the same successor). A user holds at most
// PHOBOS_USER_SESSION_MAX_SESSIONS_PER_USER live sessions; opening one more revokes the oldest.
import { and, desc, eq, gt, isNull, sql, type SQL } from 'drizzle-orm';
import type { PhobosConfig } from '../config/load';
import type { HttpDatabase } from '../db/client';
import { refreshTokens, userSessions, users, type User } from '../db/schema';
import { base64urlEncode, utf8Encode } from '../platform/encoding';
import { authorize, type Caller } from './rbac';
import { randomSecret, sha256Hex } from './secrets';
import { advisoryLock } from '../db/advisory-lock';
import { wellFormedIds } from '../domain/ids';
import { notFound } from '../errors';

export interface IssuedSession {
  sessionId: string;
  refreshToken: string;
  user: User;
}

export type RefreshOutcome = { ok: true; session: IssuedSession } | { ok: false; reason: 'unknown' | 'expired' | 'revoked' | 'reused' };

const refreshPrefix = 'phr_';

/**
 * How long a used refresh token may be presented again and answered with the same successor
 * instead of being treated as stolen: two tabs refreshing at once, or a client retrying after a
 * lost response. After it, a second presentation revokes the session as before.
 */
const refreshReuseGraceMs = 30_000;

/**
 * The successor of a refresh token is not random but derived: HMAC-SHA-256 of the presented
 * token, keyed by the presented token's `successor_seed` (32 random bytes, stored beside its hash
 * and never sent anywhere). So presenting the same token again within the grace yields the same
 * successor, while the database still holds only hashes of tokens: the seed alone gives nothing
 * (the HMAC needs the token itself), and the token alone gives nothing (the HMAC needs the seed),
 * so a stolen token cannot be rolled forward offline to dodge reuse detection. Nothing secret
 * needs configuring, and no token is ever stored in a readable form.
 */
async function successorOf(presented: string, seed: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', utf8Encode(seed), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return `${refreshPrefix}${base64urlEncode(new Uint8Array(await crypto.subtle.sign('HMAC', key, utf8Encode(presented))))}`;
}

/**
 * The statement that revokes every live session of a user (all but `except`, the caller's own, when
 * given), to run in the batch of the change that calls for it — a disabled account, a new
 * password — and only when `onlyIf` holds there, so a refused change revokes nothing.
 */
export function revokeSessionsOfUser(db: HttpDatabase, userId: string, reason: string, options: { except?: string; onlyIf?: SQL } = {}) {
  return db.execute(sql`
    update user_sessions set revoked_at = now(), revoked_reason = ${reason}
    where user_id = ${userId} and revoked_at is null and expires_at > now()
      ${options.except ? sql`and id <> ${options.except}` : sql``}
      and ${options.onlyIf ?? sql`true`}
    returning id`);
}

export function createSessionService(db: HttpDatabase, settings: PhobosConfig['userSessions']) {
  const refreshLifetimeMs = settings.refreshTokenExpirationMinutes * 60_000;

  async function revokeSession(sessionId: string, reason: string): Promise<void> {
    await db
      .update(userSessions)
      .set({ revokedAt: new Date(), revokedReason: reason })
      .where(and(eq(userSessions.id, sessionId), isNull(userSessions.revokedAt)));
  }

  async function findByToken(presented: string) {
    const [row] = await db
      .select({
        token: refreshTokens,
        session: userSessions,
        user: users,
        // The database's clock decides, as it stamped used_at.
        usedWithinGrace: sql<boolean>`coalesce(${refreshTokens.usedAt} > now() - make_interval(secs => ${refreshReuseGraceMs / 1000}), false)`,
      })
      .from(refreshTokens)
      .innerJoin(userSessions, eq(userSessions.id, refreshTokens.sessionId))
      .innerJoin(users, eq(users.id, userSessions.userId))
      .where(eq(refreshTokens.tokenHash, await sha256Hex(presented)));
    return row;
  }

  type TokenRow = NonNullable<Awaited<ReturnType<typeof findByToken>>>;

  function sessionEnded(row: TokenRow, now: number): RefreshOutcome | undefined {
    if (row.session.revokedAt || !row.user.active) return { ok: false, reason: 'revoked' };
    if (row.token.expiresAt.getTime() <= now || row.session.expiresAt.getTime() <= now) return { ok: false, reason: 'expired' };
    return undefined;
  }

  /** A used token presented again: its successor again within the grace, else the session ends. */
  async function answerReuse(presented: string, row: TokenRow): Promise<RefreshOutcome> {
    if (row.usedWithinGrace && row.token.successorSeed) {
      const ended = sessionEnded(row, Date.now());
      if (ended) return ended;
      const successor = await successorOf(presented, row.token.successorSeed);
      const [issued] = await db
        .select({ id: refreshTokens.id })
        .from(refreshTokens)
        .where(and(eq(refreshTokens.tokenHash, await sha256Hex(successor)), eq(refreshTokens.sessionId, row.session.id)));
      if (issued) return { ok: true, session: { sessionId: row.session.id, refreshToken: successor, user: row.user } };
    }
    await revokeSession(row.session.id, 'refresh_token_reuse');
    return { ok: false, reason: 'reused' };
  }

  return {
    async open(user: User, clientId: string): Promise<IssuedSession> {
      const sessionId = crypto.randomUUID();
      const token = `${refreshPrefix}${randomSecret()}`;
      const expiresAt = new Date(Date.now() + refreshLifetimeMs);
      // One transaction, serialised per user by an advisory lock, so concurrent sign-ins cannot
      // leave more than the cap alive: revoke all but the newest (max - 1), then add this one.
      await db.batch([
        advisoryLock(db, `sessions:${user.id}`),
        db.execute(sql`
          update user_sessions set revoked_at = now(), revoked_reason = 'session_limit'
          where id in (
            select id from user_sessions
            where user_id = ${user.id} and revoked_at is null and expires_at > now()
            order by created_at desc, id desc
            offset ${settings.maxSessionsPerUser - 1}
          )`),
        db.insert(userSessions).values({ id: sessionId, userId: user.id, clientId, expiresAt }),
        db.insert(refreshTokens).values({ sessionId, tokenHash: await sha256Hex(token), expiresAt, successorSeed: randomSecret() }),
      ]);
      return { sessionId, refreshToken: token, user };
    },

    async refresh(presented: string): Promise<RefreshOutcome> {
      if (!presented.startsWith(refreshPrefix)) return { ok: false, reason: 'unknown' };
      const row = await findByToken(presented);
      if (!row) return { ok: false, reason: 'unknown' };
      if (row.token.usedAt) return answerReuse(presented, row);
      const now = Date.now();
      const ended = sessionEnded(row, now);
      if (ended) return ended;

      // Tokens issued before successors were derived have no seed: theirs is random (no grace).
      const next = row.token.successorSeed ? await successorOf(presented, row.token.successorSeed) : `${refreshPrefix}${randomSecret()}`;
      const expiresAt = new Date(now + refreshLifetimeMs);
      // Consume the presented token and issue its successor atomically; if a concurrent refresh
      // consumed it first, nothing is inserted and this is a reuse within the grace.
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
        insert into refresh_tokens (session_id, token_hash, expires_at, successor_seed)
        select id, ${await sha256Hex(next)}, ${expiresAt.toISOString()}, ${randomSecret()} from extended
        returning id`);
      if (inserted.rows.length === 0) {
        const current = await findByToken(presented);
        if (current?.token.usedAt) return answerReuse(presented, current);
        return { ok: false, reason: 'revoked' };
      }
      return { ok: true, session: { sessionId: row.session.id, refreshToken: next, user: row.user } };
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

    /**
     * Sign-out everywhere: every live session of the calling user. Sessions belong to no
     * organization, so a credential narrowed to one may not (authorize() refuses it).
     */
    async signOutEverywhere(caller: Caller): Promise<number> {
      const { userId } = authorize(caller, 'session:manage', { owner: 'caller', organizationScope: null });
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

/** A sign-in session as its user sees it (never a token). */
export interface SessionView {
  id: string;
  clientId: string;
  createdAt: Date;
  expiresAt: Date;
  /** When its refresh token last rotated (a client refreshes while it is in use). */
  lastRefreshedAt: Date;
  revokedAt: Date | null;
  /** The session the request's access token belongs to. */
  current: boolean;
}

// Sessions belong to no organization: a credential narrowed to one may not list or end them.
const ownSessions = { organizationScope: null } as const;

function selectSessionViews(db: HttpDatabase) {
  return db
    .select({
      id: userSessions.id,
      userId: userSessions.userId,
      clientId: userSessions.clientId,
      createdAt: userSessions.createdAt,
      expiresAt: userSessions.expiresAt,
      revokedAt: userSessions.revokedAt,
      lastRefreshedAt: sql<Date>`(select max(${refreshTokens.createdAt}) from ${refreshTokens} where ${refreshTokens.sessionId} = ${userSessions.id})`.mapWith(
        userSessions.createdAt,
      ),
    })
    .from(userSessions);
}

function toSessionView(caller: Caller, row: Awaited<ReturnType<ReturnType<typeof selectSessionViews>['execute']>>[number]): SessionView {
  const current = caller.principal.kind === 'user' && caller.principal.sessionId === row.id;
  return {
    id: row.id,
    clientId: row.clientId,
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    lastRefreshedAt: row.lastRefreshedAt ?? row.createdAt,
    revokedAt: row.revokedAt,
    current,
  };
}

/** The caller's live sessions (not ended, not expired), newest first. */
export async function listOwnSessions(db: HttpDatabase, caller: Caller): Promise<SessionView[]> {
  const { userId } = authorize(caller, 'session:manage', { owner: 'caller', ...ownSessions });
  const rows = await selectSessionViews(db)
    .where(and(eq(userSessions.userId, userId), isNull(userSessions.revokedAt), gt(userSessions.expiresAt, new Date())))
    .orderBy(desc(userSessions.createdAt), desc(userSessions.id));
  return rows.map((row) => toSessionView(caller, row));
}

/**
 * Ends one session: its refresh token stops working at once (access tokens it issued live out their
 * few minutes). Someone else's session is not found (a system admin's excepted, as for every
 * credential). Ending an ended session changes nothing.
 */
export async function revokeOwnSession(db: HttpDatabase, caller: Caller, sessionId: string): Promise<SessionView> {
  const [id] = wellFormedIds([sessionId]);
  const [row] = id ? await selectSessionViews(db).where(eq(userSessions.id, id)) : [];
  if (!row) throw notFound('Session');
  authorize(caller, 'session:manage', { owner: { userId: row.userId }, ...ownSessions }, 'Session');
  const [revoked] = await db
    .update(userSessions)
    .set({ revokedAt: new Date(), revokedReason: 'revoked_by_user' })
    .where(and(eq(userSessions.id, row.id), isNull(userSessions.revokedAt)))
    .returning({ revokedAt: userSessions.revokedAt });
  return toSessionView(caller, { ...row, revokedAt: revoked?.revokedAt ?? row.revokedAt });
}
