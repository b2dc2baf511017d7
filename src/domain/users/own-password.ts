// A user changes their own password: the current one is required (a stolen access token alone must
// not turn into a password), and every other session of theirs ends, so whoever signed in with the
// old password is out; the session making the change stays. API keys are separate credentials and
// stay. A password is a credential of the whole account, so a key narrowed to one organization may
// not change it (authorize() refuses it on the personal credential target).
import { eq, sql } from 'drizzle-orm';
import { hashPassword, verifyPassword } from '../../auth/passwords';
import { authorize, type Caller } from '../../auth/rbac';
import { revokeSessionsOfUser } from '../../auth/sessions';
import type { HttpDatabase } from '../../db/client';
import { users } from '../../db/schema';
import { AppError, badInput, notFound } from '../../errors';
import { recordActivity } from '../activity/record';
import { prnOf } from '../prn';
import { validateNewPassword } from './password-policy';
import { signsInElsewhere } from './service';
import { writtenInThisTransaction } from './written-in-this-transaction';

export interface ChangeOwnPasswordInput {
  currentPassword: string;
  newPassword: string;
}

/** Returns how many other sessions were signed out. */
export async function changeOwnPassword(db: HttpDatabase, caller: Caller, input: ChangeOwnPasswordInput): Promise<{ userId: string; revokedSessions: number }> {
  const principal = authorize(caller, 'session:manage', { owner: 'caller', organizationScope: null });
  const newPassword = validateNewPassword('newPassword', input.newPassword);
  const [user] = await db.select().from(users).where(eq(users.id, principal.userId));
  if (!user) throw notFound('User');
  if (!user.passwordHash) {
    const [external] = (await db.execute(sql`select 1 from external_identities where user_id = ${user.id} limit 1`)).rows;
    if (external) throw signsInElsewhere(user.username);
    throw new AppError('FORBIDDEN', `${user.username} has no password yet; use the set-password link an administrator issued`);
  }
  if (!verifyPassword(input.currentPassword, user.passwordHash)) throw badInput('currentPassword', 'is not the current password');

  const changed = writtenInThisTransaction('users', user.id);
  const [updated, revoked] = await db.batch([
    // Only over the hash just verified: a concurrent change of the password wins, this one is refused.
    db.execute(sql`
      update users set password_hash = ${hashPassword(newPassword)}, updated_at = now(), version = version + 1
      where id = ${user.id} and password_hash = ${user.passwordHash} and active
      returning id`),
    revokeSessionsOfUser(db, user.id, 'password_changed', { except: principal.sessionId, onlyIf: changed }),
    recordActivity(db, principal, { action: 'change_password', targetType: 'user', targetId: user.id, targetPrn: prnOf('user', user.username) }, changed),
  ]);
  if (updated.rows.length === 0) throw new AppError('CONFLICT', 'The password was changed meanwhile, or the account was disabled; nothing was changed');
  return { userId: user.id, revokedSessions: revoked.rows.length };
}
