// A tenant claim on an external provider's bearer token (e.g. a Keycloak mapper adding `tenant`)
// narrows the caller to that organization, as an organization-scoped API key does: the principal's
// organizationScope, which authorization (src/auth/rbac.ts) honours everywhere. The claim is named by
// PHOBOS_OAUTH_PROVIDERS_<n>_TENANT_CLAIM (default `tenant`) and holds an organization's name — a
// string, or an array of exactly one. A token without it is not narrowed; one whose claim is
// malformed or names no organization is refused (401), never silently widened to the whole user.
import type { HttpDatabase } from '../../db/client';
import { organizationIdsByName } from '../../domain/organizations/service';
import { isResourceName } from '../../domain/names';
import { unauthenticated } from '../../errors';

/** The id of the organization the token's tenant claim names, undefined without a claim. */
export async function organizationScopeOf(db: HttpDatabase, claims: Record<string, unknown>, claim: string): Promise<string | undefined> {
  const value = claims[claim];
  if (value === undefined || value === null) return undefined;
  const name = Array.isArray(value) && value.length === 1 ? value[0] : value;
  // Checked before it is looked up or quoted back: an organization name is URL-safe text.
  if (typeof name !== 'string' || !isResourceName(name)) {
    throw unauthenticated(`The token's ${claim} claim must be one organization name (lowercase letters, digits and inner hyphens)`);
  }
  const id = (await organizationIdsByName(db, [name])).get(name);
  if (!id) throw unauthenticated(`The token's ${claim} claim names no organization here: ${name}`);
  return id;
}
