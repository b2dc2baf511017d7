// What a user's username and email address may be. Usernames sign in (auth/users.ts matches them
// lower-cased) and name the user in PRNs (`prn:user:<username>`), so they are lower-case and URL-safe,
// and never contain `@`, which keeps a login unambiguous between username and email address.
import { z } from 'zod';
import { badInput } from '../../errors';

const usernamePattern = /^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$/;
const emailSchema = z.email();

/** The username, trimmed and lower-cased, or BAD_USER_INPUT naming `username`. */
export function validateUsername(value: string): string {
  const username = value.trim().toLowerCase();
  if (!usernamePattern.test(username)) {
    throw badInput('username', 'must be 1-64 letters, digits, dots, hyphens or underscores, starting and ending with a letter or digit');
  }
  return username;
}

/** The email address, trimmed, or BAD_USER_INPUT naming `email`. */
export function validateEmail(value: string): string {
  const email = value.trim();
  // RFC 5321 caps a forward path at 254 characters.
  if (email.length > 254 || !emailSchema.safeParse(email).success) throw badInput('email', 'must be an email address');
  return email;
}
