// VCS provider rows as the services hand them out: with the names of their organization and
// project (for the PRN), and the checks shared by every change of one (versions, the target of
// authorization).
import { staleVersion } from '../versioned-update';
import { eq, sql, type SQL } from 'drizzle-orm';
import type { OrganizationTarget } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { organizations, projects, vcsProviders, type VcsProvider } from '../../db/schema';
import { notFound } from '../../errors';
import { prnOf } from '../prn';

export interface VcsProviderView extends VcsProvider {
  organizationName: string;
  projectName: string | null;
}

/** Providers with their organization's and project's names, filtered by `where`. */
export function providerViews(db: HttpDatabase, where: SQL | undefined) {
  return db
    .select({ provider: vcsProviders, organizationName: organizations.name, projectName: projects.name })
    .from(vcsProviders)
    .innerJoin(organizations, eq(organizations.id, vcsProviders.organizationId))
    .leftJoin(projects, eq(projects.id, vcsProviders.projectId))
    .where(where)
    .orderBy(vcsProviders.name, vcsProviders.id)
    .then((rows) => rows.map(({ provider, organizationName, projectName }) => ({ ...provider, organizationName, projectName })));
}

/** The provider, or NOT_FOUND (authorization comes after, on what was loaded). */
export async function loadProvider(db: HttpDatabase, id: string): Promise<VcsProviderView> {
  const [view] = await providerViews(db, eq(vcsProviders.id, id));
  if (!view) throw notFound('VCS provider');
  return view;
}

/** `prn:vcs_provider:<org>/<name>`, or `<org>/<project>/<name>` for a project's own. */
export function vcsProviderPrn(view: { organizationName: string; projectName: string | null; name: string }): string {
  return view.projectName ? prnOf('vcs_provider', view.organizationName, view.projectName, view.name) : prnOf('vcs_provider', view.organizationName, view.name);
}

/** Where the provider lives, for authorize(): its organization, or its project. */
export function placeOf(view: VcsProvider): OrganizationTarget {
  return view.projectId ? { organizationId: view.organizationId, projectId: view.projectId } : { organizationId: view.organizationId };
}

/** CONFLICT naming `metadata.version` when the client last read another version than `current`. */
export function requireVersion(expected: number | undefined, current: number): void {
  if (expected !== undefined && expected !== current) throw staleProvider(current);
}

const staleProvider = (current: number) => staleVersion('The VCS provider', current);

/**
 * The condition an activity event of a change waits on: the provider still at the version the
 * change was decided on, its row locked so the change that follows in the batch cannot miss it.
 */
export function stillAt(id: string, version: number): SQL {
  return sql`exists (select 1 from vcs_providers where id = ${id} and version = ${version} for update)`;
}

/** After a conditional change touched nothing: the provider went away (NOT_FOUND) or moved on (CONFLICT). */
export async function explainMissedChange(db: HttpDatabase, id: string): Promise<never> {
  const [current] = await db.select({ version: vcsProviders.version }).from(vcsProviders).where(eq(vcsProviders.id, id));
  if (!current) throw notFound('VCS provider');
  throw staleProvider(current.version);
}
