// Environments of a project: named deployment targets (`prod`, `dev-1`). Deleting one keeps its row
// (deleted_at set) for the history that names it, and frees its name. Creating one counts against
// ResourceLimitEnvironmentsPerProject (live environments only) in the insert's transaction; the
// pipeline engine creates them on first use with ensureEnvironment (ensure.ts).
import { and, asc, eq, getTableColumns, inArray, isNull, or, sql } from 'drizzle-orm';
import { authorize, isAllowed, type Caller } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { rethrowConflict } from '../../db/postgres-errors';
import { environments, organizations, projects, type Environment } from '../../db/schema';
import { notFound } from '../../errors';
import { recordActivity } from '../activity/record';
import { isUuid, wellFormedIds } from '../ids';
import { validateDescription, validateName } from '../names';
import { prnOf } from '../prn';
import { insertWithinLimit, withinLimit } from '../resource-limits/within-limit';
import { versionedChange } from '../versioned-update';

/** An environment with the names its PRN is made of (prn:environment:<org>/<project>/<env>). */
export type EnvironmentView = Environment & { organizationName: string; projectName: string; prn: string };

export const environmentsLimit = 'ResourceLimitEnvironmentsPerProject';

/** The lock every environment create of one project takes (createEnvironment and ensureEnvironment). */
export const environmentsLockKey = (projectId: string) => `environments:${projectId}`;

/** The count the limit applies to: deleted environments no longer count. */
export const liveEnvironmentCount = (projectId: string) => sql`select count(*) from environments where project_id = ${projectId} and deleted_at is null`;

export function environmentPrn(organizationName: string, projectName: string, environmentName: string): string {
  return prnOf('environment', organizationName, projectName, environmentName);
}

function viewOf(row: Environment & { organizationName: string; projectName: string }): EnvironmentView {
  return { ...row, prn: environmentPrn(row.organizationName, row.projectName, row.name) };
}

/** Environments joined with the names of their organization and project. */
function selectViews(db: HttpDatabase) {
  return db
    .select({ ...getTableColumns(environments), organizationName: organizations.name, projectName: projects.name })
    .from(environments)
    .innerJoin(projects, eq(projects.id, environments.projectId))
    .innerJoin(organizations, eq(organizations.id, environments.organizationId));
}

/** A project with its organization's name, or NOT_FOUND. */
export async function loadProjectPath(db: HttpDatabase, projectId: string) {
  if (!isUuid(projectId)) throw notFound('Project');
  const [project] = await db
    .select({ id: projects.id, name: projects.name, organizationId: projects.organizationId, organizationName: organizations.name })
    .from(projects)
    .innerJoin(organizations, eq(organizations.id, projects.organizationId))
    .where(eq(projects.id, projectId));
  if (!project) throw notFound('Project');
  return project;
}

/** A live environment by id, if there is one. */
async function findLive(db: HttpDatabase, id: string): Promise<EnvironmentView | undefined> {
  const [row] = await selectViews(db).where(and(eq(environments.id, id), isNull(environments.deletedAt)));
  return row ? viewOf(row) : undefined;
}

/** A live environment by id, or NOT_FOUND. */
async function loadLive(db: HttpDatabase, id: string): Promise<EnvironmentView> {
  const environment = await findLive(db, id);
  if (!environment) throw notFound('Environment');
  return environment;
}

/** The live environment of a project with this name, if there is one. */
export async function liveEnvironmentNamed(db: HttpDatabase, projectId: string, name: string): Promise<EnvironmentView | undefined> {
  const [row] = await selectViews(db).where(and(eq(environments.projectId, projectId), eq(environments.name, name), isNull(environments.deletedAt)));
  return row ? viewOf(row) : undefined;
}

export async function createEnvironment(
  db: HttpDatabase,
  caller: Caller,
  input: { projectId: string; name: string; description?: string },
): Promise<EnvironmentView> {
  const project = await loadProjectPath(db, input.projectId);
  const principal = authorize(caller, 'environment:manage', { organizationId: project.organizationId, projectId: project.id });
  const name = validateName('name', input.name);
  const description = validateDescription(input.description);
  const id = crypto.randomUUID();
  try {
    await insertWithinLimit<{ id: string }>(db, {
      limitName: environmentsLimit,
      lockKey: environmentsLockKey(project.id),
      statement: sql`
        insert into environments (id, organization_id, project_id, name, description)
        select ${id}, ${project.organizationId}, ${project.id}, ${name}, ${description}
        where ${withinLimit(environmentsLimit, liveEnvironmentCount(project.id))}
        returning id`,
      after: [
        recordActivity(
          db,
          principal,
          {
            action: 'create',
            targetType: 'environment',
            targetId: id,
            targetPrn: environmentPrn(project.organizationName, project.name, name),
            organizationId: project.organizationId,
            projectId: project.id,
            payload: { name },
          },
          sql`exists (select 1 from environments where id = ${id})`,
        ),
      ],
    });
  } catch (error) {
    rethrowConflict(error, 'environments_project_live_name_key', 'name', `An environment named ${name} already exists in this project`);
  }
  return loadLive(db, id);
}

/** The project's live environments, by name. */
export async function listEnvironments(db: HttpDatabase, caller: Caller, projectId: string): Promise<EnvironmentView[]> {
  const project = await loadProjectPath(db, projectId);
  authorize(caller, 'environment:view', { organizationId: project.organizationId, projectId: project.id });
  const rows = await selectViews(db)
    .where(and(eq(environments.projectId, project.id), isNull(environments.deletedAt)))
    .orderBy(asc(environments.name));
  return rows.map(viewOf);
}

/** The ids of the live environments at these PRN paths (`<organization>/<project>/<environment>`), in one query, keyed by path. */
export async function environmentIdsByPath(db: HttpDatabase, paths: readonly string[][]): Promise<Map<string, string>> {
  const wanted = paths.filter((path) => path.length === 3);
  if (wanted.length === 0) return new Map();
  const rows = await selectViews(db).where(
    and(
      isNull(environments.deletedAt),
      or(
        ...wanted.map(([organization, project, environment]) =>
          and(eq(organizations.name, organization!), eq(projects.name, project!), eq(environments.name, environment!)),
        ),
      ),
    ),
  );
  return new Map(rows.map((row) => [`${row.organizationName}/${row.projectName}/${row.name}`, row.id]));
}

/** The live environments with these ids that the caller may see, in one query; the rest are not found. */
export async function environmentsByIds(db: HttpDatabase, caller: Caller, ids: readonly string[]): Promise<EnvironmentView[]> {
  const wellFormed = wellFormedIds(ids);
  if (wellFormed.length === 0) return [];
  const rows = await selectViews(db).where(and(inArray(environments.id, wellFormed), isNull(environments.deletedAt)));
  return rows.filter((row) => isAllowed(caller, 'environment:view', { organizationId: row.organizationId, projectId: row.projectId })).map(viewOf);
}

export async function updateEnvironment(
  db: HttpDatabase,
  caller: Caller,
  id: string,
  input: { description?: string; version?: number },
): Promise<EnvironmentView> {
  const environment = await loadLive(db, id);
  const principal = authorize(caller, 'environment:manage', { organizationId: environment.organizationId, projectId: environment.projectId }, 'Environment');
  const description = validateDescription(input.description);
  const updated = await versionedChange<EnvironmentView, Environment>(db, {
    ...liveEnvironment(db, environment),
    expectedVersion: input.version,
    change: (atVersion) =>
      db
        .update(environments)
        .set({ description, updatedAt: new Date(), version: sql`${environments.version} + 1` })
        .where(atVersion)
        .returning(),
    activity: (current) => ({
      initiator: principal,
      event: {
        action: 'update',
        targetType: 'environment',
        targetId: id,
        targetPrn: current.prn,
        organizationId: current.organizationId,
        projectId: current.projectId,
        payload: { description: { old: current.description, new: description } },
      },
    }),
  });
  return { ...environment, ...updated };
}

/**
 * Deletes an environment: its row stays with deleted_at set (history, later deployments, keep
 * naming it) and its name is free for a new one. Returns what was deleted.
 */
export async function deleteEnvironment(db: HttpDatabase, caller: Caller, id: string, input: { version?: number } = {}): Promise<EnvironmentView> {
  const environment = await loadLive(db, id);
  const principal = authorize(caller, 'environment:manage', { organizationId: environment.organizationId, projectId: environment.projectId }, 'Environment');
  const deleted = await versionedChange<EnvironmentView, Environment>(db, {
    ...liveEnvironment(db, environment),
    expectedVersion: input.version,
    change: (atVersion) =>
      db
        .update(environments)
        .set({ deletedAt: new Date(), updatedAt: new Date(), version: sql`${environments.version} + 1` })
        .where(atVersion)
        .returning(),
    activity: (current) => ({
      initiator: principal,
      event: {
        action: 'delete',
        targetType: 'environment',
        targetId: id,
        targetPrn: current.prn,
        organizationId: current.organizationId,
        projectId: current.projectId,
        payload: { name: current.name },
      },
    }),
  });
  return { ...environment, ...deleted };
}

/** What every versioned change of a live environment shares: a deleted environment is gone, to changes as to loads. */
function liveEnvironment(db: HttpDatabase, environment: EnvironmentView) {
  return {
    table: environments,
    what: `Environment ${environment.name}`,
    notFoundAs: 'Environment',
    current: environment,
    reload: () => findLive(db, environment.id),
    onlyWhere: isNull(environments.deletedAt),
  };
}
