// Role bindings: who holds which role in an organization or one of its projects.
import { and, eq, sql } from 'drizzle-orm';
import { authorize, type Caller } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { memberships, projects, roleNames, type Membership, type RoleName } from '../../db/schema';
import { badInput, notFound } from '../../errors';
import { rethrowConflict } from '../../db/postgres-errors';
import { insertWithinLimit, withinLimit } from '../resource-limits/within-limit';

export interface AddMemberInput {
  organizationId: string;
  projectId?: string;
  userId?: string;
  serviceAccountId?: string;
  role: string;
}

export async function addMember(db: HttpDatabase, caller: Caller, input: AddMemberInput): Promise<Membership> {
  authorize(caller, 'membership:manage', { organizationId: input.organizationId });
  if (!roleNames.includes(input.role as RoleName)) throw badInput('role', `must be one of ${roleNames.join(', ')}`);
  if (!!input.userId === !!input.serviceAccountId) throw badInput('member', 'give exactly one of userId and serviceAccountId');
  if (input.projectId) {
    const [project] = await db
      .select()
      .from(projects)
      .where(and(eq(projects.id, input.projectId), eq(projects.organizationId, input.organizationId)));
    if (!project) throw notFound('Project');
  }
  if (input.serviceAccountId) {
    const owned = await db.execute(sql`select 1 from service_accounts where id = ${input.serviceAccountId} and organization_id = ${input.organizationId}`);
    if (owned.rows.length === 0) throw notFound('Service account');
  }
  try {
    const row = await insertWithinLimit<{ id: string }>(db, {
      limitName: 'ResourceLimitMembersPerOrganization',
      lockKey: `memberships:${input.organizationId}`,
      statement: sql`
        insert into memberships (organization_id, project_id, user_id, service_account_id, role)
        select ${input.organizationId}, ${input.projectId ?? null}, ${input.userId ?? null}, ${input.serviceAccountId ?? null}, ${input.role}
        where ${withinLimit('ResourceLimitMembersPerOrganization', sql`select count(*) from memberships where organization_id = ${input.organizationId}`)}
        returning id`,
    });
    return (await db.select().from(memberships).where(eq(memberships.id, row.id)))[0]!;
  } catch (error) {
    return rethrowConflict(error, 'memberships_member_scope_key', 'member', 'This member already has a role here');
  }
}

export async function listMembers(db: HttpDatabase, caller: Caller, organizationId: string): Promise<Membership[]> {
  authorize(caller, 'membership:view', { organizationId });
  return db.select().from(memberships).where(eq(memberships.organizationId, organizationId));
}

/** Takes a role binding away; returns what it was. */
export async function removeMember(db: HttpDatabase, caller: Caller, membershipId: string): Promise<Membership> {
  const [membership] = await db.select().from(memberships).where(eq(memberships.id, membershipId));
  if (!membership) throw notFound('Membership');
  authorize(caller, 'membership:manage', { organizationId: membership.organizationId }, 'Membership');
  const [removed] = await db.delete(memberships).where(eq(memberships.id, membershipId)).returning();
  if (!removed) throw notFound('Membership');
  return removed;
}
