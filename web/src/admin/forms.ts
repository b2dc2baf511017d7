// The administration forms' rules, the API's own (src/domain/users/validation.ts, names.ts), checked
// in the browser so a mistake shows beside its field at once; the API checks again.

export type FieldErrors<Field extends string> = Partial<Record<Field, string>>;

const usernamePattern = /^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$/;
const resourceName = /^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$/;
// The shape of an address; the API's check is the strict one.
const emailShape = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface UserFormInput {
  username: string;
  email: string;
  /** Empty: the API answers with a one-time set-password link instead. */
  password: string;
}

export function validateUserForm(input: UserFormInput): FieldErrors<keyof UserFormInput> {
  const errors: FieldErrors<keyof UserFormInput> = {};
  const username = input.username.trim().toLowerCase();
  if (!usernamePattern.test(username))
    errors.username = 'Username is 1–64 letters, digits, dots, hyphens or underscores, starting and ending with a letter or digit.';
  const email = input.email.trim();
  if (email.length > 254 || !emailShape.test(email)) errors.email = 'Enter an email address.';
  if (input.password !== '' && input.password.length < 12)
    errors.password = 'A password is at least 12 characters (or leave it empty for a set-password link).';
  return errors;
}

export interface TeamFormInput {
  name: string;
  description: string;
}

export function validateTeamForm(input: TeamFormInput): FieldErrors<keyof TeamFormInput> {
  const errors: FieldErrors<keyof TeamFormInput> = {};
  if (!resourceName.test(input.name.trim())) errors.name = 'Name is 1–64 lower-case letters, digits or inner hyphens.';
  if (input.description.trim().length > 1000) errors.description = 'Description is at most 1000 characters.';
  return errors;
}

/** A resource limit's new value: a whole number from 0 up; the text as typed. */
export function parseLimitValue(text: string): { value: number; error?: undefined } | { error: string; value?: undefined } {
  const trimmed = text.trim();
  const value = Number(trimmed);
  if (trimmed === '' || !Number.isInteger(value) || value < 0 || value > 2_147_483_647) return { error: 'A limit is a whole number, 0 or more.' };
  return { value };
}

export const hasErrors = (errors: Record<string, string | undefined>): boolean => Object.values(errors).some(Boolean);
