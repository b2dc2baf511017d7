// The one rule for comparing OpenID issuer identifiers. Configuration strips a trailing slash from
// URLs while some providers publish theirs with one (Authentik, JumpCloud), so two spellings that
// differ only in trailing slashes name the same issuer; nothing else is normalised (RFC 8414 §3.3
// and OIDC Discovery §4.3 otherwise require an exact match).
export function normaliseIssuer(issuer: string): string {
  return issuer.replace(/\/+$/, '');
}

export function sameIssuer(a: string, b: string): boolean {
  return normaliseIssuer(a) === normaliseIssuer(b);
}
