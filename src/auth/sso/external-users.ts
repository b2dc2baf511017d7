// Users who sign in through an external provider. The first sign-in creates the account (when the
// email domain is allowed by USER_EMAIL_DOMAIN_WHITELIST); later ones find it by issuer and
// subject. An email alone never links: a provider asserting someone's address must not take over
// the local account that owns it.
import { and, eq, sql } from 'drizzle-orm';
import type { PhobosConfig } from '../../config/load';
import type { HttpDatabase } from '../../db/client';
import { externalIdentities, users, type User } from '../../db/schema';
import { AppError, forbidden } from '../../errors';
import type { ExternalProfile } from './providers';

export interface ExternalSignIn {
  provider: string;
  issuer: string;
  profile: ExternalProfile;
}

/**
 * An external identity from verified OIDC claims. The username is the first of `usernameClaims`
 * present (the provider's configured claim first), else the subject.
 */
export function profileFromClaims(claims: Record<string, unknown>, subject: string, usernameClaims: string[]): ExternalProfile {
  const username = usernameClaims.map((claim) => claims[claim]).find((value) => value !== undefined && value !== null);
  return {
    subject,
    email: typeof claims.email === 'string' ? claims.email : undefined,
    emailVerified: typeof claims.email_verified === 'boolean' ? claims.email_verified : undefined,
    username: String(username ?? subject),
  };
}

function emailDomainAllowed(config: PhobosConfig, email: string | undefined): boolean {
  const whitelist = config.sso.emailDomainWhitelist;
  if (whitelist.length === 0) return true;
  const domain = email?.split('@')[1]?.toLowerCase();
  return !!domain && whitelist.includes(domain);
}

function usernameCandidate(profile: ExternalProfile): string {
  const base = (profile.username ?? profile.email?.split('@')[0] ?? 'user')
    .toLowerCase()
    .replace(/[^a-z0-9._-]/g, '-')
    .slice(0, 48);
  return base || 'user';
}

export async function signInExternalUser(db: HttpDatabase, config: PhobosConfig, signIn: ExternalSignIn): Promise<User> {
  const { issuer, profile } = signIn;
  const [linked] = await db
    .select({ user: users })
    .from(externalIdentities)
    .innerJoin(users, eq(users.id, externalIdentities.userId))
    .where(and(eq(externalIdentities.issuer, issuer), eq(externalIdentities.subject, profile.subject)));
  if (linked) {
    if (!linked.user.active) throw forbidden('This account is deactivated');
    await db
      .update(externalIdentities)
      .set({ lastSignInAt: new Date() })
      .where(and(eq(externalIdentities.issuer, issuer), eq(externalIdentities.subject, profile.subject)));
    return linked.user;
  }

  if (!emailDomainAllowed(config, profile.email)) {
    throw forbidden('Sign-up is restricted to approved email domains (USER_EMAIL_DOMAIN_WHITELIST)');
  }
  if (!profile.email) throw new AppError('BAD_USER_INPUT', 'The identity provider did not share an email address', { field: 'email' });
  if (profile.emailVerified === false) throw forbidden('The identity provider has not verified this email address');

  // Create the user and its identity in one statement; a unique violation on the email means a
  // different account owns it, which must not be linked implicitly.
  const username = `${usernameCandidate(profile)}-${crypto.randomUUID().slice(0, 6)}`;
  try {
    const created = await db.execute<{ id: string }>(sql`
      with new_user as (
        insert into users (username, email) values (${username}, ${profile.email}) returning id
      )
      insert into external_identities (user_id, provider, issuer, subject, email, last_sign_in_at)
      select id, ${signIn.provider}, ${issuer}, ${profile.subject}, ${profile.email}, now() from new_user
      returning user_id as id`);
    const [user] = await db.select().from(users).where(eq(users.id, created.rows[0]!.id));
    return user!;
  } catch (error) {
    const constraint = String((error as { cause?: { constraint?: string } }).cause?.constraint ?? (error as { constraint?: string }).constraint ?? '');
    if (constraint === 'users_email_lower_key') {
      throw new AppError('CONFLICT', 'An account with this email address already exists; sign in with that account instead');
    }
    if (constraint === 'external_identities_issuer_subject_key') {
      // A concurrent first sign-in of the same identity won; use its account.
      return signInExternalUser(db, config, signIn);
    }
    throw error;
  }
}
