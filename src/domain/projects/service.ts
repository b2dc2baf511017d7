// Projects of an organization (the release domain extends them). Creating one counts against
// ResourceLimitProjectsPerOrganization in the same transaction as the insert. Rows come with their
// organization's name, which their PRN (prn:project:<organization>/<project>) needs.
import { and, eq, getTableColumns, inArray, or, sql } from 'drizzle-orm';
import { authorize, isAllowed, type Caller } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { organizations, projects, type Project } from '../../db/schema';
import { notFound } from '../../errors';
import { rethrowConflict } from '../../db/postgres-errors';
import { recordActivity } from '../activity/record';
import { validateDescription, validateName } from '../names';
import { wellFormedIds } from '../ids';
import { prnOf } from '../prn';
import { insertWithinLimit, withinLimit } from '../resource-limits/within-limit';
import { versionedChange } from '../versioned-update';

/** A project with the name of its organization. */
export type ProjectRow = Project & { organizationName: string };

export const projectPrn = (project: ProjectRow) => prnOf('project', project.organizationName, project.name);

const withOrganizationName = { ...getTableColumns(projects), organizationName: organizations.name };

function selectProjects(db: HttpDatabase) {
  return db.select(withOrganizationName).from(projects).innerJoin(organizations, eq(organizations.id, projects.organizationId));
}

export async function createProject(
  db: HttpDatabase,
  caller: Caller,
  input: { organizationId: string; name: string; description?: string },
): Promise<ProjectRow> {
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
          {
            action: 'create',
            targetType: 'project',
            targetId: id,
            targetPrn: sql`(select 'prn:project:' || name || '/' || ${name} from organizations where id = ${input.organizationId})`,
            organizationId: input.organizationId,
            projectId: id,
            payload: { name },
          },
          sql`exists (select 1 from projects where id = ${id})`,
        ),
      ],
    });
    return (await selectProjects(db).where(eq(projects.id, row.id)))[0]!;
  } catch (error) {
    return rethrowConflict(error, 'projects_organization_name_key', 'name', `A project named ${name} already exists in this organization`);
  }
}

async function find(db: HttpDatabase, id: string): Promise<ProjectRow | undefined> {
  return (await selectProjects(db).where(eq(projects.id, id)))[0];
}

async function load(db: HttpDatabase, id: string): Promise<ProjectRow> {
  const project = await find(db, id);
  if (!project) throw notFound('Project');
  return project;
}

export async function getProject(db: HttpDatabase, caller: Caller, id: string): Promise<ProjectRow> {
  const project = await load(db, id);
  authorize(caller, 'project:view', { organizationId: project.organizationId, projectId: project.id });
  return project;
}

export interface UpdateProjectInput {
  description?: string;
  /** The version last read (metadata.version); the update is refused with CONFLICT if it moved on. */
  version?: number;
}

export async function updateProject(db: HttpDatabase, caller: Caller, id: string, input: UpdateProjectInput): Promise<ProjectRow> {
  const project = await load(db, id);
  const principal = authorize(caller, 'project:update', { organizationId: project.organizationId, projectId: project.id });
  const description = validateDescription(input.description);
  const updated = await versionedChange<ProjectRow, Project>(db, {
    table: projects,
    what: 'Project',
    current: project,
    expectedVersion: input.version,
    reload: () => find(db, id),
    change: (atVersion) =>
      db
        .update(projects)
        .set({ description, updatedAt: new Date(), version: sql`${projects.version} + 1` })
        .where(atVersion)
        .returning(),
    activity: (current) => ({
      initiator: principal,
      event: {
        action: 'update',
        targetType: 'project',
        targetId: id,
        targetPrn: projectPrn(current),
        organizationId: current.organizationId,
        projectId: id,
        payload: { description: { old: current.description, new: description } },
      },
    }),
  });
  return { ...updated, organizationName: project.organizationName };
}

/** Deletes the project; returns what it was. */
export async function deleteProject(db: HttpDatabase, caller: Caller, id: string, input: { version?: number } = {}): Promise<ProjectRow> {
  const project = await load(db, id);
  const principal = authorize(caller, 'project:delete', { organizationId: project.organizationId, projectId: project.id });
  const deleted = await versionedChange<ProjectRow, Project>(db, {
    table: projects,
    what: 'Project',
    current: project,
    expectedVersion: input.version,
    reload: () => find(db, id),
    change: (atVersion) => db.delete(projects).where(atVersion).returning(),
    activity: (current) => ({
      initiator: principal,
      event: {
        action: 'delete',
        targetType: 'project',
        targetId: id,
        targetPrn: projectPrn(current),
        organizationId: current.organizationId,
        projectId: id,
        payload: { name: current.name },
      },
    }),
  });
  return { ...deleted, organizationName: project.organizationName };
}

/**
 * The projects of an organization the caller may see, by name: all of them for its organization
 * members, only their own for project-only members.
 */
export async function listProjects(db: HttpDatabase, caller: Caller, organizationId: string): Promise<ProjectRow[]> {
  authorize(caller, 'organization:view', { organizationId });
  const rows = await selectProjects(db).where(eq(projects.organizationId, organizationId)).orderBy(projects.name);
  return rows.filter((row) => isAllowed(caller, 'project:view', { organizationId, projectId: row.id }));
}

/** The projects with these ids that the caller may see, in one query; the rest are not found. */
export async function projectsByIds(db: HttpDatabase, caller: Caller, ids: readonly string[]): Promise<ProjectRow[]> {
  const wellFormed = wellFormedIds(ids);
  if (wellFormed.length === 0) return [];
  const rows = await selectProjects(db).where(inArray(projects.id, wellFormed));
  return rows.filter((row) => isAllowed(caller, 'project:view', { organizationId: row.organizationId, projectId: row.id }));
}

/**
 * The ids of the projects at these PRN paths (`[organization, project]`), keyed by the path joined
 * with `/`, in one query; paths that match nothing are left out. Reveals nothing by itself: whoever
 * uses an id is authorized as for any other.
 */
export async function projectIdsByPath(db: HttpDatabase, paths: readonly string[][]): Promise<Map<string, string>> {
  const wanted = paths.filter((path) => path.length === 2);
  if (wanted.length === 0) return new Map();
  const rows = await selectProjects(db).where(
    or(...wanted.map(([organization, project]) => and(eq(organizations.name, organization!), eq(projects.name, project!)))),
  );
  return new Map(rows.map((row) => [`${row.organizationName}/${row.name}`, row.id]));
}
