// What a new password must be, wherever it is chosen (an admin's initial password, the set-password
// page, a user's own change). Length is what makes a password hard to guess (NIST SP 800-63B §5.1.1):
// at least 12 characters, no composition rules. The upper bound only keeps requests small; Argon2
// takes any length at the same cost.
import { badInput } from '../../errors';
import { textProblem } from '../text';

export const minimumPasswordLength = 12;
const maximumPasswordLength = 1024;

/** The password as given (never trimmed: spaces are characters too), or BAD_USER_INPUT naming `field`. */
export function validateNewPassword(field: string, password: string): string {
  // Code points, not UTF-16 units: an emoji is one character to the person typing it.
  const length = [...password].length;
  if (length < minimumPasswordLength) throw badInput(field, `must be at least ${minimumPasswordLength} characters`);
  if (length > maximumPasswordLength) throw badInput(field, `must be at most ${maximumPasswordLength} characters`);
  const problem = textProblem(password);
  if (problem) throw badInput(field, problem);
  return password;
}
