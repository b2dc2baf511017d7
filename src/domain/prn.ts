// Phobos Resource Names: `prn:<type>:<path>`, e.g. `prn:organization:acme`, `prn:project:acme/web`,
// `prn:environment:acme/web/prod`, `prn:approval_rule:acme/admins`. Every resource has one, shown in
// `metadata.prn`; templates refer to resources by PRN, and wherever an id is taken a PRN may be given.
export function prnOf(type: string, ...path: string[]): string {
  return `prn:${type}:${path.join('/')}`;
}
