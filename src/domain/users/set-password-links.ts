// One-time set-password links: an admin creates a user without a password (or issues a new link to
// one who forgot theirs), and the user opens the link and chooses a password on a server-rendered
// page (src/routes/set-password.ts). The token is 256 random bits, shown once in the creating
// mutation's payload; only its SHA-256 is stored. A link works once, for 24 hours, and only while
// the user is active; issuing a new one voids the user's unused ones.
import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import { hashPassword } from '../../auth/passwords';
import type { UserPrincipal } from '../../auth/principal';
import { randomSecret, sha256Hex } from '../../auth/secrets';
import { revokeSessionsOfUser } from '../../auth/sessions';
import type { HttpDatabase } from '../../db/client';
import { setPasswordLinks, users } from '../../db/schema';
import { AppError } from '../../errors';
import { recordActivity } from '../activity/record';
import { prnOf } from '../prn';
import { validateNewPassword } from './password-policy';
import { writtenInThisTransaction } from './written-in-this-transaction';

const tokenPrefix = 'phs_';
const linkLifetimeMs = 24 * 60 * 60 * 1000;

export interface NewSetPasswordLink {
  /** The secret part of the link; shown once. */
  token: string;
  expiresAt: Date;
}

/** A new link's token, and the statements that store it for `userId` in the caller's batch. */
export async function setPasswordLinkFor(db: HttpDatabase, userId: string, createdBy: string | null) {
  const link: NewSetPasswordLink = { token: `${tokenPrefix}${randomSecret()}`, expiresAt: new Date(Date.now() + linkLifetimeMs) };
  const tokenHash = await sha256Hex(link.token);
  const statements = [
    db.delete(setPasswordLinks).where(and(eq(setPasswordLinks.userId, userId), isNull(setPasswordLinks.usedAt))),
    db.insert(setPasswordLinks).values({ userId, tokenHash, createdBy, expiresAt: link.expiresAt }),
  ] as const;
  return { link, statements };
}

/** The user a link lets choose a password, while it is unused, unexpired and the user active. */
export async function findUsableSetPasswordLink(db: HttpDatabase, token: string): Promise<{ linkId: string; userId: string; username: string } | undefined> {
  // Anything else is no token of ours: no lookup (and no hashing of arbitrary input).
  if (!/^phs_[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
  const [row] = await db
    .select({ linkId: setPasswordLinks.id, userId: users.id, username: users.username })
    .from(setPasswordLinks)
    .innerJoin(users, eq(users.id, setPasswordLinks.userId))
    .where(
      and(
        eq(setPasswordLinks.tokenHash, await sha256Hex(token)),
        isNull(setPasswordLinks.usedAt),
        gt(setPasswordLinks.expiresAt, sql`now()`),
        eq(users.active, true),
      ),
    );
  return row;
}

const unusableLink = () => new AppError('NOT_FOUND', 'This link is invalid, has expired or was already used. Ask an administrator for a new one.');

/**
 * Sets the password a link was issued for, and uses the link up: one transaction that consumes the
 * link (only if still usable), sets the password, signs the user out everywhere (a reset must shut
 * out whoever knew the old password) and records the event. Returns the username.
 */
export async function setPasswordWithLink(db: HttpDatabase, token: string, password: string): Promise<string> {
  const link = await findUsableSetPasswordLink(db, token);
  if (!link) throw unusableLink();
  const passwordHash = hashPassword(validateNewPassword('password', password));
  // The person holding the link acts as the user it was issued for.
  const initiator: UserPrincipal = { kind: 'user', userId: link.userId, username: link.username, email: '', isAdmin: false, via: 'access_token' };
  const consumed = writtenInThisTransaction('set_password_links', link.linkId);
  const changed = writtenInThisTransaction('users', link.userId);
  const [used] = await db.batch([
    db.execute(sql`
      update set_password_links set used_at = now()
      where id = ${link.linkId} and used_at is null and expires_at > now()
        and exists (select 1 from users where id = ${link.userId} and active)
      returning id`),
    db.execute(sql`
      update users set password_hash = ${passwordHash}, updated_at = now(), version = version + 1
      where id = ${link.userId} and ${consumed}`),
    revokeSessionsOfUser(db, link.userId, 'password_set', { onlyIf: changed }),
    recordActivity(db, initiator, { action: 'set_password', targetType: 'user', targetId: link.userId, targetPrn: prnOf('user', link.username) }, changed),
  ]);
  // Used up between the lookup and the batch (a second submission racing the first).
  if (used.rows.length === 0) throw unusableLink();
  return link.username;
}
