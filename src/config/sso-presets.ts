// The SSO presets (Phase's provider slugs) and the variables each reads. Listed in SSO_PROVIDERS to
// enable; an enabled preset is validated with its zod object into a typed SsoPresetConfig, and the
// configuration check fails fast, naming each variable an enabled preset misses.
import { z } from 'zod';
import { ConfigNode, type DeclaredVariable, metaOf, sectionDeclarations, variableGroup } from './declarations';
import { describeExpected, type EnvironmentReader } from './environment-reader';
import * as k from './kinds';

const { variable, required } = variableGroup('SSO presets');

function preset<const Fields extends Record<string, z.ZodType<unknown, string | undefined>>>(name: string, fields: Fields) {
  return { name, fields, schema: z.object(fields) };
}

// In README order.
const ssoPresets = {
  google: preset('Google', {
    clientId: required('GOOGLE_CLIENT_ID', k.nonEmptyText, { description: 'Google OAuth 2.0 client ID.' }),
    clientSecret: required('GOOGLE_CLIENT_SECRET', k.nonEmptyText, { description: 'Google OAuth 2.0 client secret.', secret: true }),
  }),
  github: preset('GitHub', {
    clientId: required('GITHUB_CLIENT_ID', k.nonEmptyText, { description: 'GitHub OAuth client ID.' }),
    clientSecret: required('GITHUB_CLIENT_SECRET', k.nonEmptyText, { description: 'GitHub OAuth client secret.', secret: true }),
  }),
  'github-enterprise': preset('GitHub Enterprise', {
    baseUrl: required('GITHUB_ENTERPRISE_BASE_URL', k.url, { description: 'URL of your GitHub Enterprise Server instance.' }),
    apiUrl: required('GITHUB_ENTERPRISE_API_URL', k.url, { description: 'API URL of your GitHub Enterprise Server instance (usually BASE_URL + /api).' }),
    clientId: required('GITHUB_ENTERPRISE_CLIENT_ID', k.nonEmptyText, { description: 'GitHub Enterprise Server OAuth client ID.' }),
    clientSecret: required('GITHUB_ENTERPRISE_CLIENT_SECRET', k.nonEmptyText, { description: 'GitHub Enterprise Server OAuth client secret.', secret: true }),
  }),
  gitlab: preset('GitLab', {
    clientId: required('GITLAB_CLIENT_ID', k.nonEmptyText, { description: 'GitLab OAuth client ID.' }),
    clientSecret: required('GITLAB_CLIENT_SECRET', k.nonEmptyText, { description: 'GitLab OAuth client secret.', secret: true }),
    authUrl: variable('GITLAB_AUTH_URL', k.url, { description: 'GitLab instance URL for self-hosted GitLab.', default: 'https://gitlab.com' }),
  }),
  authentik: preset('Authentik', {
    clientId: required('AUTHENTIK_CLIENT_ID', k.nonEmptyText, { description: 'Authentik OIDC client ID.' }),
    clientSecret: required('AUTHENTIK_CLIENT_SECRET', k.nonEmptyText, { description: 'Authentik OIDC client secret.', secret: true }),
    url: required('AUTHENTIK_URL', k.url, { description: 'Authentik instance URL.' }),
    appSlug: required('AUTHENTIK_APP_SLUG', k.nonEmptyText, { description: 'Authentik application slug.' }),
  }),
  authelia: preset('Authelia', {
    clientId: required('AUTHELIA_CLIENT_ID', k.nonEmptyText, { description: 'Authelia OIDC client ID.' }),
    clientSecret: required('AUTHELIA_CLIENT_SECRET', k.nonEmptyText, { description: 'Authelia OIDC client secret.', secret: true }),
    url: required('AUTHELIA_URL', k.url, { description: 'Authelia instance URL.' }),
  }),
  'google-oidc': preset('Google', {
    clientId: required('GOOGLE_OIDC_CLIENT_ID', k.nonEmptyText, { description: 'Google OIDC client ID.' }),
    clientSecret: required('GOOGLE_OIDC_CLIENT_SECRET', k.nonEmptyText, { description: 'Google OIDC client secret.', secret: true }),
  }),
  'jumpcloud-oidc': preset('JumpCloud', {
    clientId: required('JUMPCLOUD_OIDC_CLIENT_ID', k.nonEmptyText, { description: 'JumpCloud OIDC client ID.' }),
    clientSecret: required('JUMPCLOUD_OIDC_CLIENT_SECRET', k.nonEmptyText, { description: 'JumpCloud OIDC client secret.', secret: true }),
  }),
  'entra-id-oidc': preset('Microsoft Entra ID', {
    tenantId: required('ENTRA_ID_OIDC_TENANT_ID', k.nonEmptyText, { description: 'Microsoft Entra ID directory (tenant) ID.' }),
    clientId: required('ENTRA_ID_OIDC_CLIENT_ID', k.nonEmptyText, { description: 'Microsoft Entra ID application (client) ID.' }),
    clientSecret: required('ENTRA_ID_OIDC_CLIENT_SECRET', k.nonEmptyText, { description: 'Microsoft Entra ID client secret.', secret: true }),
  }),
  'okta-oidc': preset('Okta', {
    clientId: required('OKTA_OIDC_CLIENT_ID', k.nonEmptyText, { description: 'Okta OIDC application client ID.' }),
    clientSecret: required('OKTA_OIDC_CLIENT_SECRET', k.nonEmptyText, { description: 'Okta OIDC application client secret.', secret: true }),
    issuer: required('OKTA_OIDC_ISSUER', k.url, { description: 'Your Okta domain URL (issuer).' }),
  }),
};

type SsoPresets = typeof ssoPresets;
type SsoPresetSlug = keyof SsoPresets;

/** An enabled preset with its validated variables, e.g. `{ slug: 'okta-oidc', name: 'Okta', clientId, clientSecret, issuer }`. */
export type SsoPresetConfig = { [S in SsoPresetSlug]: { slug: S; name: string } & z.output<SsoPresets[S]['schema']> }[SsoPresetSlug];

function isPresetSlug(slug: string): slug is SsoPresetSlug {
  return Object.hasOwn(ssoPresets, slug);
}

/** The presets SSO_PROVIDERS enables (read through `selector`), each validated into its typed object. */
export class SsoPresetSelection extends ConfigNode<SsoPresetConfig[]> {
  constructor(readonly selector: z.ZodType<string[] | undefined, string | undefined>) {
    super();
  }

  read(reader: EnvironmentReader): SsoPresetConfig[] {
    const selectorName = metaOf(this.selector).name;
    const enabled = new Set(reader.parse(selectorName, this.selector) ?? []);
    for (const slug of enabled) {
      if (!isPresetSlug(slug))
        reader.issues.push({ variable: selectorName, message: `unknown provider "${slug}" (expected ${Object.keys(ssoPresets).join(', ')})` });
    }
    const valid = new Map<string, SsoPresetConfig>();
    for (const [slug, { name, fields, schema }] of Object.entries(ssoPresets)) {
      const raw: Record<string, string | undefined> = {};
      for (const [property, field] of Object.entries(fields)) raw[property] = reader.raw(metaOf(field).name);
      const result = schema.safeParse(raw);
      if (result.success) {
        valid.set(slug, { slug, name, ...result.data } as SsoPresetConfig);
        continue;
      }
      // A set variable is checked whether or not its preset is enabled; a missing one only matters when it is.
      const reported = new Set<PropertyKey>();
      for (const issue of result.error.issues) {
        const property = issue.path[0]!;
        if (reported.has(property)) continue;
        reported.add(property);
        const meta = metaOf(fields[property as keyof typeof fields]);
        const value = raw[property as string];
        if (value !== undefined) reader.issues.push({ variable: meta.name, message: describeExpected(meta, value) });
        else if (enabled.has(slug)) reader.issues.push({ variable: meta.name, message: `is required when ${selectorName} includes ${slug}` });
      }
    }
    return [...enabled].flatMap((slug) => valid.get(slug) ?? []);
  }

  declarations(): DeclaredVariable[] {
    return Object.values(ssoPresets).flatMap((preset) => sectionDeclarations(preset.fields));
  }
}
