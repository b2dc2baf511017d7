// Who is making a request. Resolved once per request by the authentication middleware and passed
// to every service call; authorization (auth/rbac) decides from it alone.

export interface UserPrincipal {
  kind: 'user';
  userId: string;
  username: string;
  email: string;
  isAdmin: boolean;
  /** How the request authenticated. */
  via: 'access_token' | 'external_token' | 'api_key';
  sessionId?: string;
  apiKeyId?: string;
  /** Set when the credential limits the user to one organization: a scoped API key, or a provider token's tenant claim. */
  organizationScope?: string;
  /** When the API key the request authenticated with expires: keys it creates may not outlive it. */
  apiKeyExpiresAt?: Date;
}

export interface ServiceAccountPrincipal {
  kind: 'service_account';
  serviceAccountId: string;
  organizationId: string;
  name: string;
  via: 'access_token' | 'api_key';
  apiKeyId?: string;
  organizationScope?: string;
  apiKeyExpiresAt?: Date;
}

export interface AnonymousPrincipal {
  kind: 'anonymous';
}

export type Principal = UserPrincipal | ServiceAccountPrincipal | AnonymousPrincipal;
export type AuthenticatedPrincipal = UserPrincipal | ServiceAccountPrincipal;

export const anonymous: AnonymousPrincipal = { kind: 'anonymous' };

/** A stable key per caller (rate limiting, audit): `user:<id>` / `service_account:<id>`. */
export function principalKey(principal: AuthenticatedPrincipal): string {
  return principal.kind === 'user' ? `user:${principal.userId}` : `service_account:${principal.serviceAccountId}`;
}

export function isAuthenticated(principal: Principal): principal is AuthenticatedPrincipal {
  return principal.kind !== 'anonymous';
}
