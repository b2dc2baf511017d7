// Organizations: the tenants. System admins create them (the creator becomes owner); members see
// and manage them according to their roles.
import { eq, inArray, sql } from 'drizzle-orm';
import { authorize, installation, isAllowed, organizationIdsVisibleTo, type Caller } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { memberships, organizations, type Organization } from '../../db/schema';
import { notFound } from '../../errors';
import { rethrowConflict } from '../../db/postgres-errors';
import { validateDescription, validateName } from '../names';
import { wellFormedIds } from '../ids';
import { ownerRoleId } from '../roles/built-in';

export async function createOrganization(db: HttpDatabase, caller: Caller, input: { name: string; description?: string }): Promise<Organization> {
  const principal = authorize(caller, 'organization:create', installation);
  const name = validateName('name', input.name);
  const description = validateDescription(input.description);
  const creator = principal.kind === 'user' ? principal.userId : null;
  const id = crypto.randomUUID();
  try {
    // The organization and its first owner in one transaction: never an organization nobody manages.
    await db.batch([
      db.insert(organizations).values({ id, name, description, createdBy: creator }),
      ...(creator ? [db.insert(memberships).values({ organizationId: id, userId: creator, roleId: ownerRoleId })] : []),
    ]);
  } catch (error) {
    rethrowConflict(error, 'organizations_name_key', 'name', `An organization named ${name} already exists`);
  }
  return (await db.select().from(organizations).where(eq(organizations.id, id)))[0]!;
}

export async function listOrganizations(db: HttpDatabase, caller: Caller): Promise<Organization[]> {
  const visible = organizationIdsVisibleTo(caller);
  if (visible !== 'all' && visible.length === 0) return [];
  const query = db.select().from(organizations).orderBy(organizations.name);
  return visible === 'all' ? query : query.where(inArray(organizations.id, visible));
}

/** The organizations with these ids that the caller may see; the rest are simply not found. */
export async function organizationsByIds(db: HttpDatabase, caller: Caller, ids: readonly string[]): Promise<Organization[]> {
  const wellFormed = wellFormedIds(ids);
  if (wellFormed.length === 0) return [];
  const rows = await db.select().from(organizations).where(inArray(organizations.id, wellFormed));
  return rows.filter((row) => isAllowed(caller, 'organization:view', { organizationId: row.id }));
}

export async function getOrganizationByName(db: HttpDatabase, caller: Caller, name: string): Promise<Organization> {
  const [organization] = await db.select().from(organizations).where(eq(organizations.name, name));
  if (!organization) throw notFound('Organization');
  authorize(caller, 'organization:view', { organizationId: organization.id });
  return organization;
}

export async function updateOrganization(db: HttpDatabase, caller: Caller, id: string, input: { description?: string }): Promise<Organization> {
  authorize(caller, 'organization:update', { organizationId: id });
  const [updated] = await db
    .update(organizations)
    .set({ description: validateDescription(input.description), updatedAt: new Date(), version: sql`${organizations.version} + 1` })
    .where(eq(organizations.id, id))
    .returning();
  if (!updated) throw notFound('Organization');
  return updated;
}

/** Deletes the organization and everything it owns; returns what it was. */
export async function deleteOrganization(db: HttpDatabase, caller: Caller, id: string): Promise<Organization> {
  authorize(caller, 'organization:delete', { organizationId: id });
  const [deleted] = await db.delete(organizations).where(eq(organizations.id, id)).returning();
  if (!deleted) throw notFound('Organization');
  return deleted;
}
