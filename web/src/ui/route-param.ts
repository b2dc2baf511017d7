// Ids in the address: global ids are base64 (`/`, `+`, `=`), so links encode them and pages decode
// the route parameter before sending it to the API.

/** A link's path segment for an id. */
export function idSegment(id: string): string {
  return encodeURIComponent(id);
}

/** The id a route parameter holds (decoded; as is when it is not valid percent-encoding). */
export function paramId(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
