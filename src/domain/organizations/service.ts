// Organizations: the tenants. System admins create them (the creator becomes owner); members see
// and manage them according to their roles.
import { eq, inArray, sql } from 'drizzle-orm';
import { hasPermission, organizationIdsVisibleTo, requireAuthenticated, requireSystemPermission, type Caller } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { memberships, organizations, type Organization } from '../../db/schema';
import { notFound } from '../../errors';
import { authorizeOn } from '../access';
import { rethrowConflict, validateDescription, validateName } from '../names';
import { wellFormedIds } from '../ids';

export async function createOrganization(db: HttpDatabase, caller: Caller, input: { name: string; description?: string }): Promise<Organization> {
  requireSystemPermission(caller, 'organization:create');
  const name = validateName('name', input.name);
  const description = validateDescription(input.description);
  const principal = caller.principal;
  const creator = principal.kind === 'user' ? principal.userId : null;
  const id = crypto.randomUUID();
  try {
    // The organization and its first owner in one transaction: never an organization nobody manages.
    await db.batch([
      db.insert(organizations).values({ id, name, description, createdBy: creator }),
      ...(creator ? [db.insert(memberships).values({ organizationId: id, userId: creator, role: 'owner' })] : []),
    ]);
  } catch (error) {
    rethrowConflict(error, 'organizations_name_key', 'name', `An organization named ${name} already exists`);
  }
  return (await db.select().from(organizations).where(eq(organizations.id, id)))[0]!;
}

export async function listOrganizations(db: HttpDatabase, caller: Caller): Promise<Organization[]> {
  requireAuthenticated(caller.principal);
  const visible = organizationIdsVisibleTo(caller);
  if (visible !== 'all' && visible.length === 0) return [];
  const query = db.select().from(organizations).orderBy(organizations.name);
  return visible === 'all' ? query : query.where(inArray(organizations.id, visible));
}

/** The organizations with these ids that the caller may see; the rest are simply not found. */
export async function organizationsByIds(db: HttpDatabase, caller: Caller, ids: readonly string[]): Promise<Organization[]> {
  requireAuthenticated(caller.principal);
  const wellFormed = wellFormedIds(ids);
  if (wellFormed.length === 0) return [];
  const rows = await db.select().from(organizations).where(inArray(organizations.id, wellFormed));
  return rows.filter((row) => hasPermission(caller, 'organization:view', { organizationId: row.id }));
}

export async function getOrganizationByName(db: HttpDatabase, caller: Caller, name: string): Promise<Organization> {
  const [organization] = await db.select().from(organizations).where(eq(organizations.name, name));
  if (!organization) throw notFound('Organization');
  authorizeOn(caller, 'organization:view', { organizationId: organization.id }, 'Organization');
  return organization;
}

export async function updateOrganization(db: HttpDatabase, caller: Caller, id: string, input: { description?: string }): Promise<Organization> {
  authorizeOn(caller, 'organization:update', { organizationId: id }, 'Organization');
  const [updated] = await db
    .update(organizations)
    .set({ description: validateDescription(input.description), updatedAt: new Date(), version: sql`${organizations.version} + 1` })
    .where(eq(organizations.id, id))
    .returning();
  if (!updated) throw notFound('Organization');
  return updated;
}

export async function deleteOrganization(db: HttpDatabase, caller: Caller, id: string): Promise<void> {
  authorizeOn(caller, 'organization:delete', { organizationId: id }, 'Organization');
  const deleted = await db.delete(organizations).where(eq(organizations.id, id)).returning({ id: organizations.id });
  if (deleted.length === 0) throw notFound('Organization');
}
