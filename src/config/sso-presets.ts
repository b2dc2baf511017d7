// The SSO presets (Phase's provider slugs) and the variables each needs. Listed in SSO_PROVIDERS
// to enable; the configuration check fails fast when an enabled preset misses a variable.
import type { VariableName } from './variables';

export const ssoPresets = {
  google: { name: 'Google', requires: ['GOOGLE_CLIENT_ID', 'GOOGLE_CLIENT_SECRET'] },
  'google-oidc': { name: 'Google', requires: ['GOOGLE_OIDC_CLIENT_ID', 'GOOGLE_OIDC_CLIENT_SECRET'] },
  github: { name: 'GitHub', requires: ['GITHUB_CLIENT_ID', 'GITHUB_CLIENT_SECRET'] },
  'github-enterprise': {
    name: 'GitHub Enterprise',
    requires: ['GITHUB_ENTERPRISE_BASE_URL', 'GITHUB_ENTERPRISE_API_URL', 'GITHUB_ENTERPRISE_CLIENT_ID', 'GITHUB_ENTERPRISE_CLIENT_SECRET'],
  },
  gitlab: { name: 'GitLab', requires: ['GITLAB_CLIENT_ID', 'GITLAB_CLIENT_SECRET'] },
  authentik: { name: 'Authentik', requires: ['AUTHENTIK_CLIENT_ID', 'AUTHENTIK_CLIENT_SECRET', 'AUTHENTIK_URL', 'AUTHENTIK_APP_SLUG'] },
  authelia: { name: 'Authelia', requires: ['AUTHELIA_CLIENT_ID', 'AUTHELIA_CLIENT_SECRET', 'AUTHELIA_URL'] },
  'jumpcloud-oidc': { name: 'JumpCloud', requires: ['JUMPCLOUD_OIDC_CLIENT_ID', 'JUMPCLOUD_OIDC_CLIENT_SECRET'] },
  'entra-id-oidc': { name: 'Microsoft Entra ID', requires: ['ENTRA_ID_OIDC_TENANT_ID', 'ENTRA_ID_OIDC_CLIENT_ID', 'ENTRA_ID_OIDC_CLIENT_SECRET'] },
  'okta-oidc': { name: 'Okta', requires: ['OKTA_OIDC_CLIENT_ID', 'OKTA_OIDC_CLIENT_SECRET', 'OKTA_OIDC_ISSUER'] },
} as const satisfies Record<string, { name: string; requires: VariableName[] }>;

export type SsoPresetSlug = keyof typeof ssoPresets;

export function isPresetSlug(slug: string): slug is SsoPresetSlug {
  return Object.hasOwn(ssoPresets, slug);
}
