// Text that goes into a jsonb parameter (rows sent as one `jsonb_to_recordset` parameter) must be
// well-formed UTF-16: jsonb refuses a lone surrogate (`"\ud800"`), which a text parameter never
// meets because the driver encodes it as U+FFFD. A reason cut at a length can split a pair; the
// same replacement keeps such a value written as a plain text parameter would write it.
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export function wellFormed<T extends string | null | undefined>(value: T): T {
  return (typeof value === 'string' ? value.replace(loneSurrogate, '\ufffd') : value) as T;
}

const hasLoneSurrogate = new RegExp(loneSurrogate.source);

/** Whether every string in `value`, keys included, is well-formed: a value jsonb will take. */
export function isWellFormedJson(value: unknown): boolean {
  if (typeof value === 'string') return !hasLoneSurrogate.test(value);
  if (Array.isArray(value)) return value.every(isWellFormedJson);
  if (typeof value === 'object' && value !== null) return Object.entries(value).every(([key, item]) => !hasLoneSurrogate.test(key) && isWellFormedJson(item));
  return true;
}
