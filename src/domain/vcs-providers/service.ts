// VCS providers: GitHub or GitLab connections (github.com, gitlab.com or self-hosted) of an
// organization, which all its projects inherit, or of one project. Authenticated by a personal
// access token (checked against the provider's user endpoint before anything is stored) or through
// OAuth (oauth-flow.ts). Tokens and client secrets are stored sealed (secrets.ts) and never leave
// through any API; access-token.ts hands them to the engine. Creating one counts against
// ResourceLimitVCSProvidersPerOrganization (its own and its projects' together).
import { and, eq, inArray, isNull, or, sql } from 'drizzle-orm';
import { authorize, isAllowed, type Caller, type OrganizationTarget } from '../../auth/rbac';
import type { PhobosConfig } from '../../config/load';
import type { HttpDatabase } from '../../db/client';
import { rethrowConflict } from '../../db/postgres-errors';
import { organizations, projects, vcsAuthTypes, vcsProviders, vcsProviderTypes, type VcsAuthType, type VcsProviderType } from '../../db/schema';
import { badInput, notFound } from '../../errors';
import { recordActivity } from '../activity/record';
import { wellFormedIds } from '../ids';
import { validateDescription, validateLabel, validateName } from '../names';
import { insertWithinLimit, withinLimit } from '../resource-limits/within-limit';
import { providerAddresses } from './endpoints';
import { beginAuthorization } from './oauth-flow';
import { accountNameOf } from './provider-api';
import { explainMissedChange, loadProvider, placeOf, providerViews, requireVersion, stillAt, vcsProviderPrn, type VcsProviderView } from './records';
import { requireSecretStorage, sealSecret } from './secrets';

export interface CreateVcsProviderInput {
  /** Exactly one of organizationId (the organization's own, inherited by its projects) and projectId. */
  organizationId?: string;
  projectId?: string;
  name: string;
  description?: string;
  type: string;
  url?: string;
  apiUrl?: string;
  authType: string;
  personalAccessToken?: string;
  oauthClientId?: string;
  oauthClientSecret?: string;
}

/** A provider as changed, and where to send the browser when an OAuth authorization is to be (re)done. */
export interface VcsProviderChange {
  provider: VcsProviderView;
  oauthAuthorizationUrl: string | null;
}

const tokenMaxLength = 1024;

function validateSecret(field: string, value: string | undefined): string {
  if (value === undefined || !value.trim()) throw badInput(field, 'required');
  return validateLabel(field, value, tokenMaxLength);
}

/** Where a new provider goes: the organization, or a project (loaded first: NOT_FOUND if the caller cannot see it). */
async function placeOfNew(db: HttpDatabase, input: CreateVcsProviderInput): Promise<OrganizationTarget> {
  if (!!input.organizationId === !!input.projectId) throw badInput('organizationId', 'give exactly one of organizationId and projectId');
  if (input.organizationId) return { organizationId: input.organizationId };
  const [project] = await db.select({ organizationId: projects.organizationId }).from(projects).where(eq(projects.id, input.projectId!));
  if (!project) throw notFound('Project');
  return { organizationId: project.organizationId, projectId: input.projectId };
}

function activityOf(view: { id: string; organizationId: string; projectId: string | null } & Parameters<typeof vcsProviderPrn>[0]) {
  return { targetType: 'vcs_provider', targetId: view.id, targetPrn: vcsProviderPrn(view), organizationId: view.organizationId, projectId: view.projectId };
}

export async function createVcsProvider(db: HttpDatabase, config: PhobosConfig, caller: Caller, input: CreateVcsProviderInput): Promise<VcsProviderChange> {
  const place = await placeOfNew(db, input);
  const principal = authorize(caller, 'vcs_provider:manage', place);
  const name = validateName('name', input.name);
  const description = validateDescription(input.description);
  if (!vcsProviderTypes.includes(input.type as VcsProviderType)) throw badInput('type', `must be one of ${vcsProviderTypes.join(', ')}`);
  const type = input.type as VcsProviderType;
  if (!vcsAuthTypes.includes(input.authType as VcsAuthType)) throw badInput('authType', `must be one of ${vcsAuthTypes.join(', ')}`);
  const authType = input.authType as VcsAuthType;
  const { url, apiUrl } = providerAddresses(type, input);
  requireSecretStorage(config);

  const id = crypto.randomUUID();
  let accountName: string | null = null;
  let encryptedAccessToken: string | null = null;
  let oauthClientId: string | null = null;
  let encryptedOauthClientSecret: string | null = null;
  if (authType === 'personal_access_token') {
    if (input.oauthClientId !== undefined || input.oauthClientSecret !== undefined) {
      throw badInput('oauthClientId', 'only for providers authenticated by OAuth');
    }
    const token = validateSecret('personalAccessToken', input.personalAccessToken);
    accountName = await accountNameOf(type, apiUrl, token, 'personalAccessToken');
    encryptedAccessToken = await sealSecret(config, id, 'access_token', token);
  } else {
    if (input.personalAccessToken !== undefined) throw badInput('personalAccessToken', 'only for providers authenticated by a personal access token');
    oauthClientId = validateLabel('oauthClientId', input.oauthClientId ?? '', 255);
    encryptedOauthClientSecret = await sealSecret(config, id, 'oauth_client_secret', validateSecret('oauthClientSecret', input.oauthClientSecret));
  }
  const authorization = oauthClientId ? await beginAuthorization(config, principal, { id, type, url, oauthClientId }) : undefined;

  const names = await db.execute<{ organization_name: string; project_name: string | null }>(sql`
    select o.name as organization_name, p.name as project_name from organizations o left join projects p on p.id = ${place.projectId ?? null}
    where o.id = ${place.organizationId}`);
  const placeNames = names.rows[0];
  if (!placeNames) throw notFound('Organization');
  const prnParts = { organizationName: placeNames.organization_name, projectName: placeNames.project_name, name };
  const projectId = place.projectId ?? null;
  try {
    await insertWithinLimit<{ id: string }>(db, {
      limitName: 'ResourceLimitVCSProvidersPerOrganization',
      lockKey: `vcs_providers:${place.organizationId}`,
      statement: sql`
        insert into vcs_providers (id, organization_id, project_id, name, description, type, url, api_url, auth_type, oauth_client_id,
          encrypted_oauth_client_secret, encrypted_access_token, account_name)
        select ${id}, ${place.organizationId}, ${projectId}, ${name}, ${description}, ${type}, ${url}, ${apiUrl}, ${authType}, ${oauthClientId},
          ${encryptedOauthClientSecret}, ${encryptedAccessToken}, ${accountName}
        where ${withinLimit('ResourceLimitVCSProvidersPerOrganization', sql`select count(*) from vcs_providers where organization_id = ${place.organizationId}`)}
        returning id`,
      after: [
        recordActivity(
          db,
          principal,
          {
            action: 'create',
            ...activityOf({ id, organizationId: place.organizationId, projectId, ...prnParts }),
            payload: { name, type, url, apiUrl, authType, accountName },
          },
          sql`exists (select 1 from vcs_providers where id = ${id})`,
        ),
        ...(authorization ? [authorization.store(db)] : []),
      ],
    });
  } catch (error) {
    const scope = projectId ? 'project' : 'organization';
    return rethrowConflict(error, `vcs_providers_${scope}_name_key`, 'name', `A VCS provider named ${name} already exists in this ${scope}`);
  }
  return { provider: await loadProvider(db, id), oauthAuthorizationUrl: authorization?.authorizationUrl ?? null };
}

/** The organization's own providers (not its projects'). */
export async function listOrganizationVcsProviders(db: HttpDatabase, caller: Caller, organizationId: string): Promise<VcsProviderView[]> {
  authorize(caller, 'vcs_provider:view', { organizationId });
  return providerViews(db, and(eq(vcsProviders.organizationId, organizationId), isNull(vcsProviders.projectId)));
}

/** The project's own providers and, marked `inherited`, its organization's. */
export async function listProjectVcsProviders(
  db: HttpDatabase,
  caller: Caller,
  project: { id: string; organizationId: string },
): Promise<(VcsProviderView & { inherited: boolean })[]> {
  authorize(caller, 'vcs_provider:view', { organizationId: project.organizationId, projectId: project.id });
  const rows = await providerViews(
    db,
    and(eq(vcsProviders.organizationId, project.organizationId), or(isNull(vcsProviders.projectId), eq(vcsProviders.projectId, project.id))),
  );
  return rows.map((row) => ({ ...row, inherited: row.projectId === null }));
}

/** The ids of the providers at these PRN paths (`<organization>/<name>`, `<organization>/<project>/<name>`), in one query, keyed by path. */
export async function vcsProviderIdsByPath(db: HttpDatabase, paths: readonly string[][]): Promise<Map<string, string>> {
  const wanted = paths.filter((path) => path.length === 2 || path.length === 3);
  if (wanted.length === 0) return new Map();
  const rows = await providerViews(
    db,
    or(
      ...wanted.map(([organization, second, third]) =>
        third === undefined
          ? and(eq(organizations.name, organization!), isNull(vcsProviders.projectId), eq(vcsProviders.name, second!))
          : and(eq(organizations.name, organization!), eq(projects.name, second!), eq(vcsProviders.name, third)),
      ),
    ),
  );
  return new Map(rows.map((row) => [vcsProviderPrn(row).slice('prn:vcs_provider:'.length), row.id]));
}

/** The providers with these ids that the caller may see, in one query; the rest are not found. */
export async function vcsProvidersByIds(db: HttpDatabase, caller: Caller, ids: readonly string[]): Promise<VcsProviderView[]> {
  const wellFormed = wellFormedIds(ids);
  if (wellFormed.length === 0) return [];
  const rows = await providerViews(db, inArray(vcsProviders.id, wellFormed));
  return rows.filter((row) => isAllowed(caller, 'vcs_provider:view', placeOf(row)));
}

export interface UpdateVcsProviderInput {
  version?: number;
  name?: string;
  description?: string;
  /** A new personal access token (checked against the provider like the first). */
  personalAccessToken?: string;
  /** Another OAuth application: its tokens are dropped and the authorization is to be done again. */
  oauthClientId?: string;
  oauthClientSecret?: string;
  /** Start the OAuth authorization again (a revoked or lost connection). */
  reauthorize?: boolean;
}

export async function updateVcsProvider(
  db: HttpDatabase,
  config: PhobosConfig,
  caller: Caller,
  id: string,
  input: UpdateVcsProviderInput,
): Promise<VcsProviderChange> {
  const provider = await loadProvider(db, id);
  const principal = authorize(caller, 'vcs_provider:manage', placeOf(provider), 'VCS provider');
  requireVersion(input.version, provider.version);
  const changes: Partial<typeof vcsProviders.$inferInsert> = {};
  const payload: Record<string, unknown> = { name: provider.name };
  if (input.name !== undefined) {
    changes.name = validateName('name', input.name);
    if (changes.name !== provider.name) payload.newName = changes.name;
  }
  if (input.description !== undefined) {
    changes.description = validateDescription(input.description);
    payload.description = changes.description;
  }
  const isOAuth = provider.authType === 'oauth';
  if (!isOAuth && (input.oauthClientId !== undefined || input.oauthClientSecret !== undefined || input.reauthorize)) {
    throw badInput(input.reauthorize ? 'reauthorize' : 'oauthClientId', 'only for providers authenticated by OAuth');
  }
  if (isOAuth && input.personalAccessToken !== undefined) throw badInput('personalAccessToken', 'only for providers authenticated by a personal access token');
  if (input.personalAccessToken !== undefined || input.oauthClientSecret !== undefined) requireSecretStorage(config);

  if (input.personalAccessToken !== undefined) {
    const token = validateSecret('personalAccessToken', input.personalAccessToken);
    changes.accountName = await accountNameOf(provider.type, provider.apiUrl, token, 'personalAccessToken');
    changes.encryptedAccessToken = await sealSecret(config, id, 'access_token', token);
    payload.tokenRotated = true;
    payload.accountName = changes.accountName;
  }
  let oauthClientId = provider.oauthClientId;
  if (input.oauthClientId !== undefined && input.oauthClientId.trim() !== provider.oauthClientId) {
    oauthClientId = validateLabel('oauthClientId', input.oauthClientId, 255);
    // Tokens of another application cannot be refreshed with this one's secret.
    if (input.oauthClientSecret === undefined) throw badInput('oauthClientSecret', 'required with a new oauthClientId');
    Object.assign(changes, { oauthClientId, encryptedAccessToken: null, encryptedRefreshToken: null, accessTokenExpiresAt: null, accountName: null });
    payload.oauthClientId = oauthClientId;
  }
  if (input.oauthClientSecret !== undefined) {
    changes.encryptedOauthClientSecret = await sealSecret(config, id, 'oauth_client_secret', validateSecret('oauthClientSecret', input.oauthClientSecret));
    payload.clientSecretRotated = true;
  }
  const authorization =
    isOAuth && (input.reauthorize || changes.oauthClientId)
      ? await beginAuthorization(config, principal, { id, type: provider.type, url: provider.url, oauthClientId: oauthClientId! })
      : undefined;
  if (authorization) payload.reauthorize = true;

  const renamed = { ...provider, name: changes.name ?? provider.name };
  try {
    const [, [updated]] = await db.batch([
      recordActivity(db, principal, { action: 'update', ...activityOf(renamed), payload }, stillAt(id, provider.version)),
      db
        .update(vcsProviders)
        .set({ ...changes, updatedAt: new Date(), version: sql`${vcsProviders.version} + 1` })
        .where(and(eq(vcsProviders.id, id), eq(vcsProviders.version, provider.version)))
        .returning({ id: vcsProviders.id }),
      ...(authorization ? [authorization.store(db)] : []),
    ]);
    if (!updated) await explainMissedChange(db, id);
  } catch (error) {
    const scope = provider.projectId ? 'project' : 'organization';
    rethrowConflict(error, `vcs_providers_${scope}_name_key`, 'name', `A VCS provider named ${changes.name} already exists in this ${scope}`);
  }
  return { provider: await loadProvider(db, id), oauthAuthorizationUrl: authorization?.authorizationUrl ?? null };
}

/** Deletes the provider (its sealed tokens with it); returns what it was. */
export async function deleteVcsProvider(db: HttpDatabase, caller: Caller, id: string, input: { version?: number } = {}): Promise<VcsProviderView> {
  const provider = await loadProvider(db, id);
  const principal = authorize(caller, 'vcs_provider:manage', placeOf(provider), 'VCS provider');
  requireVersion(input.version, provider.version);
  const [, [deleted]] = await db.batch([
    recordActivity(
      db,
      principal,
      { action: 'delete', ...activityOf(provider), payload: { name: provider.name, type: provider.type } },
      stillAt(id, provider.version),
    ),
    db
      .delete(vcsProviders)
      .where(and(eq(vcsProviders.id, id), eq(vcsProviders.version, provider.version)))
      .returning({ id: vcsProviders.id }),
  ]);
  if (!deleted) await explainMissedChange(db, id);
  return provider;
}
