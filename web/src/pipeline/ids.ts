// Global ids in addresses (/pipelines/:id): Relay's base64 may hold "/" (escaped here) and "=" and
// "+" (kept, as they are legal in a path), so a link reads the same whether or not the page it opens
// decodes its parameter; pages here decode theirs, which a plain id passes through unchanged.
export const idInPath = (id: string): string => id.replace(/[^A-Za-z0-9+=_.:-]/g, (character) => encodeURIComponent(character));

export function idFromPath(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
