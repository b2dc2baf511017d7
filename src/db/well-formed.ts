// Text that goes into a jsonb parameter (rows sent as one `jsonb_to_recordset` parameter) must be
// well-formed UTF-16: jsonb refuses a lone surrogate (`"\ud800"`), which a text parameter never
// meets because the driver encodes it as U+FFFD. A reason cut at a length can split a pair; the
// same replacement keeps such a value written as a plain text parameter would write it. Neither
// text nor jsonb takes U+0000 at all (`\u0000 cannot be converted to text`), so a NUL is replaced too.
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const refusedByPostgres = new RegExp(`${loneSurrogate.source}|\\u0000`, 'g');

export function wellFormed<T extends string | null | undefined>(value: T): T {
  return (typeof value === 'string' ? value.replace(refusedByPostgres, '\ufffd') : value) as T;
}

const hasRefused = new RegExp(refusedByPostgres.source);

/** Whether every string in `value`, keys included, is one jsonb will take: well-formed, and without U+0000. */
export function isWellFormedJson(value: unknown): boolean {
  if (typeof value === 'string') return !hasRefused.test(value);
  if (Array.isArray(value)) return value.every(isWellFormedJson);
  if (typeof value === 'object' && value !== null) return Object.entries(value).every(([key, item]) => !hasRefused.test(key) && isWellFormedJson(item));
  return true;
}
