// A Postgres array literal for one bound parameter (`${arrayLiteral(ids)}::uuid[]`): drizzle's sql``
// spreads a JS array into one parameter per element, which `= any(...)` cannot take. Only plain
// tokens (ids, status names) go in, so no element needs quoting; anything else is a programming error.
const plain = /^[A-Za-z0-9_-]+$/;

export function arrayLiteral(values: readonly string[]): string {
  for (const value of values) if (!plain.test(value)) throw new Error(`not a plain array element: ${JSON.stringify(value)}`);
  return `{${values.join(',')}}`;
}
