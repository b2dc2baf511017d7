// The create-release form's conversions, kept apart from the component so they can be tested.

/** Whether the API will call this version a pre-release: SemVer with a pre-release part (1.0.0-rc.1). */
export function isPreRelease(version: string): boolean {
  return /^\d+\.\d+\.\d+-[0-9A-Za-z.-]+$/.test(version.trim());
}

/** A `datetime-local` value (the reader's local time) as an ISO timestamp; null when empty or invalid. */
export function localToIso(value: string): string | null {
  if (value.trim() === '') return null;
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? null : time.toISOString();
}

/**
 * Variables as typed: one `key = value` a line. A value that is valid JSON is sent as it is (42,
 * true, "text", [1, 2]); anything else is taken as a string. Returns the list, or the first line
 * that has no key.
 */
export function parseVariables(text: string): { variables: { key: string; value: string }[] } | { error: string } {
  const variables: { key: string; value: string }[] = [];
  const lines = text.split('\n');
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const equals = line.indexOf('=');
    const key = equals === -1 ? '' : line.slice(0, equals).trim();
    if (key === '') return { error: `Variables, line ${index + 1}: write key = value` };
    const given = line.slice(equals + 1).trim();
    let value: string;
    try {
      JSON.parse(given);
      value = given;
    } catch {
      value = JSON.stringify(given);
    }
    variables.push({ key, value });
  }
  return { variables };
}
