// Lookups of local accounts used by sign-in.
import { eq, or, sql } from 'drizzle-orm';
import type { HttpDatabase } from '../db/client';
import { users, type User } from '../db/schema';
import { hashPassword, verifyPassword } from './passwords';

// Verifying against this keeps a failed lookup as slow as a wrong password, so response times do
// not reveal which accounts exist.
let decoyHash: string | undefined;

export async function findUserByLogin(db: HttpDatabase, login: string): Promise<User | undefined> {
  const [user] = await db
    .select()
    .from(users)
    .where(or(sql`lower(${users.email}) = lower(${login})`, eq(users.username, login.toLowerCase())));
  return user;
}

export async function findUserById(db: HttpDatabase, id: string): Promise<User | undefined> {
  const [user] = await db.select().from(users).where(eq(users.id, id));
  return user;
}

/**
 * The account `password` signs in to: `user` (from findUserByLogin, looked up first so the
 * sign-in throttle can count per account) when it is active, has a password and the password
 * matches.
 */
export function checkPassword(user: User | undefined, password: string): User | undefined {
  if (!user?.passwordHash || !user.active) {
    decoyHash ??= hashPassword('decoy-password');
    verifyPassword(password, decoyHash);
    return undefined;
  }
  return verifyPassword(password, user.passwordHash) ? user : undefined;
}
