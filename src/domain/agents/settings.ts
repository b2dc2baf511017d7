// What an agent's settings must be, checked before anything is written so a client's mistake is a
// BAD_USER_INPUT naming the field, never the table's CHECK failing as a 500. Tags are matched
// exactly against a job's tags (which templates take as free strings), so a tag is kept as given:
// no case folding, only the characters that make it unreadable or ambiguous in a list are refused.
import { badInput } from '../../errors';
import { textProblem } from '../text';

/** How many tags one agent may carry: routing compares every job's tags against them. */
const maxAgentTags = 50;
const maxTagLength = 64;

/** The agents table's CHECK (agents_concurrency_limit_range). */
const concurrencyLimitRange = { min: 1, max: 1000 } as const;

/** The tags as stored: each 1-64 characters without spaces or control characters, none twice, at most maxAgentTags. */
export function validateAgentTags(tags: readonly string[]): string[] {
  if (tags.length > maxAgentTags) throw badInput('tags', `at most ${maxAgentTags} tags`);
  const seen = new Set<string>();
  tags.forEach((tag, index) => {
    const field = `tags.${index}`;
    if (tag.length === 0 || tag.length > maxTagLength) throw badInput(field, `must be 1 to ${maxTagLength} characters`);
    const problem = textProblem(tag);
    if (problem) throw badInput(field, problem);
    if (/\s/u.test(tag)) throw badInput(field, 'must not contain spaces');
    if (seen.has(tag)) throw badInput(field, `${tag} is given twice`);
    seen.add(tag);
  });
  return [...tags];
}

export function validateConcurrencyLimit(value: number): number {
  if (!Number.isSafeInteger(value) || value < concurrencyLimitRange.min || value > concurrencyLimitRange.max) {
    throw badInput('concurrencyLimit', `must be a whole number from ${concurrencyLimitRange.min} to ${concurrencyLimitRange.max}`);
  }
  return value;
}
