// Projects of an organization (the release domain extends them). Creating one counts against
// ResourceLimitProjectsPerOrganization in the same transaction as the insert.
import { and, eq, inArray, sql } from 'drizzle-orm';
import { authorize, isAllowed, type Caller } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { projects, type Project } from '../../db/schema';
import { notFound } from '../../errors';
import { rethrowConflict } from '../../db/postgres-errors';
import { recordActivity } from '../activity/record';
import { validateDescription, validateName } from '../names';
import { wellFormedIds } from '../ids';
import { insertWithinLimit, withinLimit } from '../resource-limits/within-limit';

export async function createProject(db: HttpDatabase, caller: Caller, input: { organizationId: string; name: string; description?: string }): Promise<Project> {
  const principal = authorize(caller, 'project:create', { organizationId: input.organizationId });
  const name = validateName('name', input.name);
  const description = validateDescription(input.description);
  // The id is chosen here so the activity event can name it in the same transaction.
  const id = crypto.randomUUID();
  try {
    const row = await insertWithinLimit<{ id: string }>(db, {
      limitName: 'ResourceLimitProjectsPerOrganization',
      lockKey: `projects:${input.organizationId}`,
      statement: sql`
        insert into projects (id, organization_id, name, description)
        select ${id}, ${input.organizationId}, ${name}, ${description}
        where ${withinLimit('ResourceLimitProjectsPerOrganization', sql`select count(*) from projects where organization_id = ${input.organizationId}`)}
        returning id`,
      after: [
        recordActivity(
          db,
          principal,
          { action: 'create', targetType: 'project', targetId: id, organizationId: input.organizationId, projectId: id, payload: { name } },
          sql`exists (select 1 from projects where id = ${id})`,
        ),
      ],
    });
    return (await db.select().from(projects).where(eq(projects.id, row.id)))[0]!;
  } catch (error) {
    return rethrowConflict(error, 'projects_organization_name_key', 'name', `A project named ${name} already exists in this organization`);
  }
}

async function load(db: HttpDatabase, id: string): Promise<Project> {
  const [project] = await db.select().from(projects).where(eq(projects.id, id));
  if (!project) throw notFound('Project');
  return project;
}

export async function getProject(db: HttpDatabase, caller: Caller, id: string): Promise<Project> {
  const project = await load(db, id);
  authorize(caller, 'project:view', { organizationId: project.organizationId, projectId: project.id });
  return project;
}

export async function updateProject(db: HttpDatabase, caller: Caller, id: string, input: { description?: string }): Promise<Project> {
  const project = await load(db, id);
  authorize(caller, 'project:update', { organizationId: project.organizationId, projectId: project.id });
  const [updated] = await db
    .update(projects)
    .set({ description: validateDescription(input.description), updatedAt: new Date(), version: sql`${projects.version} + 1` })
    .where(and(eq(projects.id, id), eq(projects.organizationId, project.organizationId)))
    .returning();
  return updated!;
}

/** Deletes the project; returns what it was. */
export async function deleteProject(db: HttpDatabase, caller: Caller, id: string): Promise<Project> {
  const project = await load(db, id);
  authorize(caller, 'project:delete', { organizationId: project.organizationId, projectId: project.id });
  const [deleted] = await db.delete(projects).where(eq(projects.id, id)).returning();
  if (!deleted) throw notFound('Project');
  return deleted;
}

/** The projects with these ids that the caller may see, in one query; the rest are not found. */
export async function projectsByIds(db: HttpDatabase, caller: Caller, ids: readonly string[]): Promise<Project[]> {
  const wellFormed = wellFormedIds(ids);
  if (wellFormed.length === 0) return [];
  const rows = await db.select().from(projects).where(inArray(projects.id, wellFormed));
  return rows.filter((row) => isAllowed(caller, 'project:view', { organizationId: row.organizationId, projectId: row.id }));
}
