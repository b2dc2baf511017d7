// Users of the installation: local ones (created by system admins, signing in with a password) and
// those an external provider created on their first sign-in. Any authenticated caller may look users
// up (`user:view`: members are added by picking users); everything else is `user:manage`, system
// admins'. Email addresses are personal: a caller sees its own, and only system admins see everyone's
// (so only they may search by address: a prefix search would otherwise reveal addresses one letter at
// a time).
//
// Disabling a user stops every way of getting new tokens at once: sign-in, refresh tokens (their
// sessions are revoked here too, so re-enabling does not bring them back), API keys and external
// sign-in all check `users.active`. Access tokens already issued stay valid until they expire
// (PHOBOS_USER_SESSION_ACCESS_TOKEN_EXPIRATION_MINUTES), as they carry what authorization needs.
//
// There is always an active system admin: revoking admin status from, or disabling, the last one is
// refused. Both take one advisory lock, so two concurrent revocations of the last two admins cannot
// each see the other still standing.
import { staleVersion } from '../versioned-update';
import { and, asc, count, desc, eq, gt, inArray, lt, ne, or, sql, type SQL } from 'drizzle-orm';
import { hashPassword } from '../../auth/passwords';
import type { AuthenticatedPrincipal } from '../../auth/principal';
import { authorize, installation, type Caller } from '../../auth/rbac';
import { revokeSessionsOfUser } from '../../auth/sessions';
import type { HttpDatabase } from '../../db/client';
import { rethrowConflict } from '../../db/postgres-errors';
import { users } from '../../db/schema';
import { AppError, badInput, forbidden, notFound } from '../../errors';
import { recordActivity } from '../activity/record';
import { wellFormedIds } from '../ids';
import { prnOf } from '../prn';
import type { ListPage } from '../resource-limits/service';
import { validateNewPassword } from './password-policy';
import { setPasswordLinkFor, type NewSetPasswordLink } from './set-password-links';
import { validateEmail, validateUsername } from './validation';
import { writtenInThisTransaction } from './written-in-this-transaction';
import { advisoryLock } from '../../db/advisory-lock';

/** A user as callers see it: never the password hash; the email only where the caller may see it. */
export interface UserView {
  id: string;
  username: string;
  /** Null when the caller may not see it (someone else's, and the caller is no system admin). */
  email: string | null;
  isAdmin: boolean;
  active: boolean;
  /** Signs in through an external identity provider (and so has no password here). */
  external: boolean;
  /** Whether the user has a password here (a new user with a set-password link has none yet). */
  hasPassword: boolean;
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

const userColumns = {
  id: users.id,
  username: users.username,
  email: users.email,
  isAdmin: users.isAdmin,
  active: users.active,
  // Spelled out: inside the subquery drizzle would render the column as a bare "id", external_identities' own.
  external: sql<boolean>`exists (select 1 from external_identities as identity where identity.user_id = "users"."id")`.as('external'),
  hasPassword: sql<boolean>`${users.passwordHash} is not null`.as('has_password'),
  createdAt: users.createdAt,
  updatedAt: users.updatedAt,
  version: users.version,
};

type UserRow = Omit<UserView, 'email'> & { email: string };

const userIdOf = (principal: AuthenticatedPrincipal) => (principal.kind === 'user' ? principal.userId : null);

/** Whether the caller sees every user's email address (system admins do). */
function seesEveryEmail(caller: Caller): boolean {
  try {
    authorize(caller, 'user:manage', installation);
    return true;
  } catch {
    return false;
  }
}

function viewFor(caller: Caller, everyEmail: boolean) {
  const { principal } = caller;
  const self = principal.kind === 'user' ? principal.userId : undefined;
  return (row: UserRow): UserView => ({ ...row, email: everyEmail || row.id === self ? row.email : null });
}

async function loadRow(db: HttpDatabase, id: string): Promise<UserRow> {
  const [row] = wellFormedIds([id]).length ? await db.select(userColumns).from(users).where(eq(users.id, id)) : [];
  if (!row) throw notFound('User');
  return row;
}

/** The users with these ids, in one query; ids that match nothing are left out. */
export async function usersByIds(db: HttpDatabase, caller: Caller, ids: readonly string[]): Promise<UserView[]> {
  authorize(caller, 'user:view', installation);
  const wellFormed = wellFormedIds(ids);
  if (wellFormed.length === 0) return [];
  const rows = await db.select(userColumns).from(users).where(inArray(users.id, wellFormed));
  return rows.map(viewFor(caller, seesEveryEmail(caller)));
}

/** The ids of the users with these usernames (PRN paths `<username>`), in one query, keyed by username. */
export async function userIdsByPath(db: HttpDatabase, paths: readonly string[][]): Promise<Map<string, string>> {
  const usernames = paths.filter((path) => path.length === 1).map(([username]) => username!);
  if (usernames.length === 0) return new Map();
  const rows = await db.select({ id: users.id, username: users.username }).from(users).where(inArray(users.username, usernames));
  return new Map(rows.map((row) => [row.username, row.id]));
}

export async function getUserByUsername(db: HttpDatabase, caller: Caller, username: string): Promise<UserView> {
  authorize(caller, 'user:view', installation);
  const [row] = await db.select(userColumns).from(users).where(eq(users.username, username.trim().toLowerCase()));
  if (!row) throw notFound('User');
  return viewFor(caller, seesEveryEmail(caller))(row);
}

/** `%` and `_` in a search are the characters themselves, not wildcards. */
const likePrefix = (text: string) => `${text.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;

/**
 * A page of users ordered by username (unique, so it is the keyset), with the total count. `search`
 * keeps users whose username starts with it, or — for system admins — whose email address does
 * (case-insensitively).
 */
export async function pageUsers(
  db: HttpDatabase,
  caller: Caller,
  input: { search?: string; page: ListPage },
): Promise<{ rows: UserView[]; totalCount: number }> {
  authorize(caller, 'user:view', installation);
  const everyEmail = seesEveryEmail(caller);
  const search = input.search?.trim().toLowerCase();
  if (search && search.length > 254) throw badInput('search', 'must be at most 254 characters');
  const filter: SQL | undefined = search
    ? or(sql`${users.username} like ${likePrefix(search)}`, everyEmail ? sql`lower(${users.email}) like ${likePrefix(search)}` : undefined)
    : undefined;
  const conditions: (SQL | undefined)[] = [filter];
  if (input.page.after !== undefined) conditions.push(gt(users.username, input.page.after));
  if (input.page.before !== undefined) conditions.push(lt(users.username, input.page.before));
  const [rows, [total]] = await db.batch([
    db
      .select(userColumns)
      .from(users)
      .where(and(...conditions))
      .orderBy(input.page.inverted ? desc(users.username) : asc(users.username))
      .limit(input.page.limit),
    db.select({ value: count() }).from(users).where(filter),
  ]);
  return { rows: rows.map(viewFor(caller, everyEmail)), totalCount: total?.value ?? 0 };
}

export interface CreateUserInput {
  username: string;
  email: string;
  /** The initial password; without one, the result carries a set-password link for the user. */
  password?: string;
}

function rethrowUserConflict(error: unknown, username: string): never {
  try {
    rethrowConflict(error, 'users_username_key', 'username', `A user named ${username} already exists`);
  } catch (refined) {
    if (refined !== error) throw refined;
  }
  return rethrowConflict(error, 'users_email_lower_key', 'email', 'A user with this email address already exists');
}

/** Creates a local user, with an initial password or a one-time set-password link. System admins only. */
export async function createUser(db: HttpDatabase, caller: Caller, input: CreateUserInput): Promise<{ user: UserView; setPasswordLink?: NewSetPasswordLink }> {
  const principal = authorize(caller, 'user:manage', installation);
  const username = validateUsername(input.username);
  const email = validateEmail(input.email);
  const passwordHash = input.password === undefined ? null : hashPassword(validateNewPassword('password', input.password));
  // Chosen here, so the link and the activity event can name the user in the same transaction.
  const id = crypto.randomUUID();
  const link = passwordHash ? undefined : await setPasswordLinkFor(db, id, userIdOf(principal));
  try {
    await db.batch([
      db.insert(users).values({ id, username, email, passwordHash }),
      ...(link?.statements ?? []),
      recordActivity(db, principal, {
        action: 'create',
        targetType: 'user',
        targetId: id,
        targetPrn: prnOf('user', username),
        organizationId: null,
        payload: { username, password: link ? 'set_password_link' : 'initial_password' },
      }),
    ]);
  } catch (error) {
    rethrowUserConflict(error, username);
  }
  return { user: viewFor(caller, true)(await loadRow(db, id)), setPasswordLink: link?.link };
}

/**
 * A new set-password link for a local user (a first password, or a reset); the user's unused links
 * stop working. System admins only; users of external providers have no password here to set.
 */
export async function createSetPasswordLink(db: HttpDatabase, caller: Caller, id: string): Promise<{ user: UserView; setPasswordLink: NewSetPasswordLink }> {
  const principal = authorize(caller, 'user:manage', installation);
  const user = await loadRow(db, id);
  if (user.external && !user.hasPassword) throw signsInElsewhere(user.username);
  const link = await setPasswordLinkFor(db, id, userIdOf(principal));
  await db.batch([
    ...link.statements,
    recordActivity(db, principal, { action: 'create_set_password_link', targetType: 'user', targetId: id, targetPrn: prnOf('user', user.username) }),
  ]);
  return { user: viewFor(caller, true)(user), setPasswordLink: link.link };
}

export const signsInElsewhere = (username: string) =>
  forbidden(`${username} signs in through an external identity provider; Phobos Edge keeps no password for this account`);

/** Serialises every change that can take away an active system admin. */
const adminsLockKey = 'users:system_admins';

/** The row is not an active admin, or another active admin remains. */
const leavesAnotherActiveAdmin = sql`(not (${users.isAdmin} and ${users.active}) or exists (
  select 1 from users as other where other.id <> "users"."id" and other.is_admin and other.active))`;

interface UserChange {
  id: string;
  /** The version the client last saw; CONFLICT when it moved on. */
  version?: number;
  action: 'disable' | 'enable' | 'grant_admin' | 'revoke_admin';
  /** The column set and its new value; a user already so is left as is, and nothing is recorded. */
  set: { active: boolean } | { isAdmin: boolean };
  /** Sessions to end with the change (disabling). */
  revokeSessionsReason?: string;
}

async function changeUser(db: HttpDatabase, caller: Caller, change: UserChange): Promise<UserView> {
  const principal = authorize(caller, 'user:manage', installation);
  const current = await loadRow(db, change.id);
  const view = viewFor(caller, true);
  const stale = (version: number) => staleVersion(`User ${current.username}`, version);
  const [[field, value]] = Object.entries(change.set) as [['active' | 'isAdmin', boolean]];
  const alreadyDone = (user: UserRow) => user[field] === value;
  if (alreadyDone(current)) {
    if (change.version !== undefined && change.version !== current.version) throw stale(current.version);
    return view(current);
  }
  const byId = eq(users.id, change.id);
  const changed = writtenInThisTransaction('users', change.id);
  const [, updated] = await db.batch([
    advisoryLock(db, adminsLockKey),
    db
      .update(users)
      .set({ ...change.set, updatedAt: sql`now()`, version: sql`${users.version} + 1` })
      // Only a real change: a concurrent request that made it first leaves this one nothing to do (and nothing to record).
      .where(and(byId, ne(users[field], value), change.version === undefined ? undefined : eq(users.version, change.version), leavesAnotherActiveAdmin))
      .returning({ id: users.id }),
    ...(change.revokeSessionsReason ? [revokeSessionsOfUser(db, change.id, change.revokeSessionsReason, { onlyIf: changed })] : []),
    recordActivity(
      db,
      principal,
      { action: change.action, targetType: 'user', targetId: change.id, targetPrn: prnOf('user', current.username), organizationId: null },
      changed,
    ),
  ]);
  const after = await loadRow(db, change.id);
  if (updated.length > 0) return view(after);
  if (change.version !== undefined && after.version !== change.version) throw stale(after.version);
  if (alreadyDone(after)) return view(after);
  throw new AppError('CONFLICT', `${current.username} is the last active system administrator; make another user a system administrator first`, {
    details: { reason: 'last_active_admin' },
  });
}

export interface UserStateInput {
  id: string;
  version?: number;
}

/** Disables a user: no more sign-ins, refreshes or API-key requests; their sessions end now. */
export function disableUser(db: HttpDatabase, caller: Caller, input: UserStateInput): Promise<UserView> {
  return changeUser(db, caller, {
    ...input,
    action: 'disable',
    set: { active: false },
    revokeSessionsReason: 'user_disabled',
  });
}

export function enableUser(db: HttpDatabase, caller: Caller, input: UserStateInput): Promise<UserView> {
  return changeUser(db, caller, { ...input, action: 'enable', set: { active: true } });
}

export function grantSystemAdmin(db: HttpDatabase, caller: Caller, input: UserStateInput): Promise<UserView> {
  return changeUser(db, caller, { ...input, action: 'grant_admin', set: { isAdmin: true } });
}

/** Takes system-admin status away; never from the last active system admin. */
export function revokeSystemAdmin(db: HttpDatabase, caller: Caller, input: UserStateInput): Promise<UserView> {
  return changeUser(db, caller, { ...input, action: 'revoke_admin', set: { isAdmin: false } });
}
