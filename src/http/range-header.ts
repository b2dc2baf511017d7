// The Range request header (RFC 9110 §14.2), for one byte range: `bytes=first-last`,
// `bytes=first-` or `bytes=-suffixLength`. Several ranges, or a header that is not a byte range,
// are ignored (the whole representation is served), which the RFC allows; a syntactically valid
// range the object cannot satisfy is for the route to answer 416.

export type ByteRangeRequest = { kind: 'from'; offset: number; length?: number } | { kind: 'suffix'; length: number };

export function parseRangeHeader(value: string | undefined): ByteRangeRequest | undefined {
  const match = value ? /^bytes=(\d{0,15})-(\d{0,15})$/.exec(value.trim()) : null;
  if (!match) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') return { kind: 'suffix', length: Number(last) };
  if (last === '') return { kind: 'from', offset: Number(first) };
  if (Number(last) < Number(first)) return undefined;
  return { kind: 'from', offset: Number(first), length: Number(last) - Number(first) + 1 };
}
