// The create-agent form's input as the API takes it, checked in the browser by the API's own rules
// (README, "Managing agents") so a mistake is shown beside its field before the round trip; the API
// checks again, and its message is shown the same way.

export interface AgentFormInput {
  name: string;
  description: string;
  /** As typed: separated by commas or spaces. */
  tags: string;
  runUntaggedJobs: boolean;
  concurrencyLimit: string;
}

export interface AgentFormValues {
  name: string;
  description: string;
  tags: string[];
  runUntaggedJobs: boolean;
  concurrencyLimit: number;
}

export type AgentFormErrors = Partial<Record<keyof AgentFormInput, string>>;

const namePattern = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/** Tags typed as "linux, docker arm64": split on commas and whitespace, blanks dropped. */
export function parseTags(text: string): string[] {
  return text.split(/[\s,]+/).filter((tag) => tag !== '');
}

/** The values to send, or the errors by field (at least one) when the input breaks a rule. */
export function validateAgentForm(input: AgentFormInput): { values: AgentFormValues; errors?: undefined } | { errors: AgentFormErrors; values?: undefined } {
  const errors: AgentFormErrors = {};
  const name = input.name.trim();
  if (!name) errors.name = 'Name is required.';
  else if (name.length > 64) errors.name = 'Name is at most 64 characters.';
  else if (!namePattern.test(name)) errors.name = 'Name is lower-case letters, digits and inner hyphens.';
  if (input.description.length > 1000) errors.description = 'Description is at most 1000 characters.';
  const tags = parseTags(input.tags);
  if (tags.length > 50) errors.tags = 'At most 50 tags.';
  else if (tags.some((tag) => tag.length > 64)) errors.tags = 'Each tag is at most 64 characters.';
  else if (new Set(tags).size !== tags.length) errors.tags = 'A tag is listed twice.';
  const limitText = input.concurrencyLimit.trim();
  const concurrencyLimit = limitText === '' ? 10 : Number(limitText);
  if (!Number.isInteger(concurrencyLimit) || concurrencyLimit < 1 || concurrencyLimit > 1000)
    errors.concurrencyLimit = 'Concurrency limit is a whole number from 1 to 1000.';
  if (Object.keys(errors).length > 0) return { errors };
  return { values: { name, description: input.description, tags, runUntaggedJobs: input.runUntaggedJobs, concurrencyLimit } };
}

/**
 * Which field an API error is about, from its `field` extension or, failing that, the field its
 * message names, so it is shown beside that input.
 */
export function fieldOfError<Field extends string>(fields: readonly Field[], field: string | undefined, message: string): Field | undefined {
  const named = field?.split('.').pop();
  if (named && (fields as readonly string[]).includes(named)) return named as Field;
  const lower = message.toLowerCase();
  return fields.find((candidate) => new RegExp(`\\b${candidate.replace(/([A-Z])/g, ' ?$1').toLowerCase()}\\b`).test(lower));
}
