// Organizations: the tenants. System admins create them (the creator becomes owner); members see
// and manage them according to their roles. Every change records its activity event in its own
// transaction; updates and deletes take the version last read (optimistic locking).
import { eq, inArray, sql } from 'drizzle-orm';
import { authorize, installation, isAllowed, organizationIdsVisibleTo, type Caller } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { memberships, organizations, type Organization } from '../../db/schema';
import { notFound } from '../../errors';
import { rethrowConflict } from '../../db/postgres-errors';
import { recordActivity } from '../activity/record';
import { validateDescription, validateName } from '../names';
import { wellFormedIds } from '../ids';
import { prnOf } from '../prn';
import { ownerRoleId } from '../roles/built-in';
import { versionedChange } from '../versioned-update';

export const organizationPrn = (organization: { name: string }) => prnOf('organization', organization.name);

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
      recordActivity(db, principal, {
        action: 'create',
        targetType: 'organization',
        targetId: id,
        targetPrn: organizationPrn({ name }),
        organizationId: id,
        payload: { name },
      }),
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

async function find(db: HttpDatabase, id: string): Promise<Organization | undefined> {
  return (await db.select().from(organizations).where(eq(organizations.id, id)))[0];
}

/** The organization, or NOT_FOUND (callers have authorized against its id already). */
async function load(db: HttpDatabase, id: string): Promise<Organization> {
  const organization = await find(db, id);
  if (!organization) throw notFound('Organization');
  return organization;
}

export interface UpdateOrganizationInput {
  description?: string;
  /** The version last read (metadata.version); the update is refused with CONFLICT if it moved on. */
  version?: number;
}

export async function updateOrganization(db: HttpDatabase, caller: Caller, id: string, input: UpdateOrganizationInput): Promise<Organization> {
  const principal = authorize(caller, 'organization:update', { organizationId: id });
  const description = validateDescription(input.description);
  return versionedChange<Organization, Organization>(db, {
    table: organizations,
    what: 'Organization',
    current: await load(db, id),
    expectedVersion: input.version,
    reload: () => find(db, id),
    change: (atVersion) =>
      db
        .update(organizations)
        .set({ description, updatedAt: new Date(), version: sql`${organizations.version} + 1` })
        .where(atVersion)
        .returning(),
    activity: (current) => ({
      initiator: principal,
      event: {
        action: 'update',
        targetType: 'organization',
        targetId: id,
        targetPrn: organizationPrn(current),
        organizationId: id,
        payload: { description: { old: current.description, new: description } },
      },
    }),
  });
}

/** Deletes the organization and everything it owns; returns what it was. */
export async function deleteOrganization(db: HttpDatabase, caller: Caller, id: string, input: { version?: number } = {}): Promise<Organization> {
  const principal = authorize(caller, 'organization:delete', { organizationId: id });
  return versionedChange<Organization, Organization>(db, {
    table: organizations,
    what: 'Organization',
    current: await load(db, id),
    expectedVersion: input.version,
    reload: () => find(db, id),
    change: (atVersion) => db.delete(organizations).where(atVersion).returning(),
    activity: (current) => ({
      initiator: principal,
      event: {
        action: 'delete',
        targetType: 'organization',
        targetId: id,
        targetPrn: organizationPrn(current),
        organizationId: id,
        payload: { name: current.name },
      },
    }),
  });
}

/** The ids of the organizations with these names (PRN paths `[name]`), in one query; names that match nothing are left out. */
export async function organizationIdsByName(db: HttpDatabase, names: readonly string[]): Promise<Map<string, string>> {
  if (names.length === 0) return new Map();
  const rows = await db
    .select({ id: organizations.id, name: organizations.name })
    .from(organizations)
    .where(inArray(organizations.name, [...names]));
  return new Map(rows.map((row) => [row.name, row.id]));
}
