// Where GitHub and GitLab (github.com, gitlab.com or a self-hosted instance) answer: the web address
// the browser is sent to for OAuth, the token endpoint, and the REST API's user endpoint. Addresses
// come from organization owners, so they are checked: https (plain http only on loopback, for local
// instances), no credentials, query or fragment.
import type { VcsProviderType } from '../../db/schema';
import { badInput } from '../../errors';

export const providerNames: Record<VcsProviderType, string> = { github: 'GitHub', gitlab: 'GitLab' };

const defaultUrls: Record<VcsProviderType, string> = { github: 'https://github.com', gitlab: 'https://gitlab.com' };

function isLoopback(url: URL): boolean {
  return url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
}

/** A provider address as stored: checked, without a trailing slash. */
function validateProviderUrl(field: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw badInput(field, 'must be an absolute URL');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url))) throw badInput(field, 'must be an https URL');
  if (url.username || url.password) throw badInput(field, 'must not contain credentials');
  if (url.search || url.hash) throw badInput(field, 'must not have a query or a fragment');
  return url.toString().replace(/\/+$/, '');
}

/**
 * The web and API addresses of a provider: given ones checked, missing ones defaulted (GitHub's API
 * lives on its own host; GitLab's under /api/v4 of the instance).
 */
export function providerAddresses(type: VcsProviderType, input: { url?: string; apiUrl?: string }): { url: string; apiUrl: string } {
  const url = input.url === undefined ? defaultUrls[type] : validateProviderUrl('url', input.url);
  if (input.apiUrl !== undefined) return { url, apiUrl: validateProviderUrl('apiUrl', input.apiUrl) };
  if (type === 'gitlab') return { url, apiUrl: `${url}/api/v4` };
  return { url, apiUrl: url === defaultUrls.github ? 'https://api.github.com' : `${url}/api/v3` };
}

export function authorizeEndpoint(type: VcsProviderType, url: string): string {
  return type === 'github' ? `${url}/login/oauth/authorize` : `${url}/oauth/authorize`;
}

export function tokenEndpoint(type: VcsProviderType, url: string): string {
  return type === 'github' ? `${url}/login/oauth/access_token` : `${url}/oauth/token`;
}

export function userEndpoint(apiUrl: string): string {
  return `${apiUrl}/user`;
}

/** The OAuth scopes asked for: enough to read repositories and report back on them. */
export const oauthScopes: Record<VcsProviderType, string> = { github: 'repo read:user', gitlab: 'api read_user' };
