// Sensitive variable values kept out of failure reasons. A reason is written to the node's event
// (seen by every subscriber and reader of the project), and HCL's messages quote the values they
// could not use (`tonumber(): cannot convert "s3cret" to a number`), so before a reason is
// recorded every string and number in the pipeline's sensitive values is replaced wherever it
// appears, in its plain and its JSON-escaped spelling.

const placeholder = '(sensitive value)';

function leaves(value: unknown, found: Set<string>): void {
  if (typeof value === 'string') {
    if (value.length === 0) return;
    found.add(value);
    found.add(JSON.stringify(value).slice(1, -1));
  } else if (typeof value === 'number') {
    found.add(String(value));
  } else if (Array.isArray(value)) {
    for (const item of value) leaves(item, found);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      leaves(key, found);
      leaves(item, found);
    }
  }
}

/** `message` with every string and number of `sensitive` (the values of sensitive variables) replaced. */
export function redactSensitive(message: string, sensitive: Record<string, unknown> | undefined): string {
  if (!sensitive) return message;
  const found = new Set<string>();
  for (const value of Object.values(sensitive)) leaves(value, found);
  // Longest first, so a value that contains another is replaced whole.
  let redacted = message;
  for (const text of [...found].sort((a, b) => b.length - a.length)) redacted = redacted.replaceAll(text, placeholder);
  return redacted;
}
