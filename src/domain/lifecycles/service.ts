// Release lifecycles: immutable versions of lifecycle HCL, at organization level (usable by every
// project of the organization) or in one project. Stored as pipeline templates are: creating one
// checks the size limit (PHOBOS_TEMPLATE_MAX_UPLOAD_SIZE), compiles the HCL (compile.ts: every
// problem at its line and column), checks that every approval rule it names exists in its
// organization, then puts the body in the object store FIRST under an unguessable key and inserts
// the row (SHA-256, size, compiled model) after it; a row that cannot be inserted takes its object
// with it. `latest` marks the highest semantic version of a (scope, name); creates in one scope are
// serialised by an advisory lock and only insert when the versions they ranked against are still
// all there is. Managed with release_lifecycle:manage, read with release_lifecycle:view; a
// project's members (release_lifecycle:view in the project) also read the organization's
// lifecycles through the project, which may use them.
import { and, asc, count, desc, eq, getTableColumns, inArray, isNotNull, isNull, or, sql, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { authorize, isAllowed, type Caller, type OrganizationTarget } from '../../auth/rbac';
import { advisoryLock } from '../../db/advisory-lock';
import type { HttpDatabase } from '../../db/client';
import { rethrowConflict, rethrowStillReferenced } from '../../db/postgres-errors';
import { organizations, projects, releaseLifecycles, type ReleaseLifecycleRow } from '../../db/schema';
import { AppError, badInput, notFound } from '../../errors';
import { recordActivity } from '../activity/record';
import { loadProjectPath } from '../environments/service';
import { isUuid, wellFormedIds } from '../ids';
import { keysetPosition } from '../keyset-position';
import { validateName } from '../names';
import { prnOf } from '../prn';
import { compareSemanticVersions } from '../templates/semver';
import type { TemplateLimits, TemplateStore } from '../templates/service';
import { checkApprovalRules, principalName, sha256Hex, templateProblems, validateVersion } from '../templates/upload';
import { compileReleaseLifecycle } from './compile';

/** A lifecycle with the names its PRN is made of (projectName null at organization level). */
export type ReleaseLifecycleView = ReleaseLifecycleRow & { organizationName: string; projectName: string | null; prn: string };

const encoder = new TextEncoder();
const lifecycleProject = alias(projects, 'lifecycle_project');
/** How often a create re-ranks its version when other versions of the name arrived meanwhile. */
const rankAttempts = 5;

/**
 * `prn:release_lifecycle:<org>/<name>/<version>` at organization level,
 * `prn:release_lifecycle:<org>/<project>/<name>/<version>` in a project; an unversioned lifecycle's
 * last segment is its id.
 */
function releaseLifecyclePrn(row: { organizationName: string; projectName: string | null; name: string; semanticVersion: string | null; id: string }): string {
  const last = row.semanticVersion ?? row.id;
  return row.projectName === null
    ? prnOf('release_lifecycle', row.organizationName, row.name, last)
    : prnOf('release_lifecycle', row.organizationName, row.projectName, row.name, last);
}

const columns = { ...getTableColumns(releaseLifecycles), organizationName: organizations.name, projectName: lifecycleProject.name };

function selectViews(db: HttpDatabase) {
  return db
    .select(columns)
    .from(releaseLifecycles)
    .innerJoin(organizations, eq(organizations.id, releaseLifecycles.organizationId))
    .leftJoin(lifecycleProject, eq(lifecycleProject.id, releaseLifecycles.projectId));
}

type Selected = ReleaseLifecycleRow & { organizationName: string; projectName: string | null };

const viewOf = (row: Selected): ReleaseLifecycleView => ({ ...row, prn: releaseLifecyclePrn(row) });

function targetOf(row: { organizationId: string; projectId: string | null }): OrganizationTarget {
  return row.projectId ? { organizationId: row.organizationId, projectId: row.projectId } : { organizationId: row.organizationId };
}

async function find(db: HttpDatabase, id: string): Promise<ReleaseLifecycleView | undefined> {
  if (!isUuid(id)) return undefined;
  const [row] = await selectViews(db).where(eq(releaseLifecycles.id, id));
  return row ? viewOf(row) : undefined;
}

/** The lifecycle, as the caller may see it (release_lifecycle:view where it lives), or NOT_FOUND. */
export async function getReleaseLifecycle(db: HttpDatabase, caller: Caller, id: string): Promise<ReleaseLifecycleView> {
  const lifecycle = await find(db, id);
  if (!lifecycle) throw notFound('Release lifecycle');
  authorize(caller, 'release_lifecycle:view', targetOf(lifecycle), 'Release lifecycle');
  return lifecycle;
}

/**
 * A lifecycle a project may use — one of the project's, or of its organization — with its compiled
 * model (`compiled`), for a caller with release_lifecycle:view in the project. Anything else
 * (another project's, another organization's, unknown) is NOT_FOUND. What releases start from.
 */
export async function releaseLifecycleForProject(db: HttpDatabase, caller: Caller, projectId: string, id: string): Promise<ReleaseLifecycleView> {
  const project = await loadProjectPath(db, projectId);
  authorize(caller, 'release_lifecycle:view', { organizationId: project.organizationId, projectId: project.id });
  const lifecycle = await find(db, id);
  if (!lifecycle || lifecycle.organizationId !== project.organizationId || (lifecycle.projectId !== null && lifecycle.projectId !== project.id)) {
    throw notFound('Release lifecycle');
  }
  return lifecycle;
}

/** The lifecycles with these ids that the caller may see, in one query. */
export async function releaseLifecyclesByIds(db: HttpDatabase, caller: Caller, ids: readonly string[]): Promise<ReleaseLifecycleView[]> {
  const wellFormed = wellFormedIds(ids);
  if (wellFormed.length === 0) return [];
  const rows = await selectViews(db).where(inArray(releaseLifecycles.id, wellFormed));
  return rows.filter((row) => isAllowed(caller, 'release_lifecycle:view', targetOf(row))).map(viewOf);
}

/** `<version>` or, for an unversioned lifecycle, its id. */
function versionOrId(last: string): SQL {
  return isUuid(last)
    ? sql`(${releaseLifecycles.semanticVersion} = ${last} or ${releaseLifecycles.id} = ${last})`
    : (eq(releaseLifecycles.semanticVersion, last) as SQL);
}

/** Ids of the lifecycles at these PRN paths (`<org>/<name>/<version>`, `<org>/<project>/<name>/<version>`), keyed by path. */
export async function releaseLifecycleIdsByPath(db: HttpDatabase, paths: readonly string[][]): Promise<Map<string, string>> {
  const conditions = paths.flatMap((path) => {
    if (path.length === 3) {
      const [organization, name, last] = path as [string, string, string];
      return [and(eq(organizations.name, organization), isNull(releaseLifecycles.projectId), eq(releaseLifecycles.name, name), versionOrId(last))];
    }
    if (path.length === 4) {
      const [organization, project, name, last] = path as [string, string, string, string];
      return [and(eq(organizations.name, organization), eq(lifecycleProject.name, project), eq(releaseLifecycles.name, name), versionOrId(last))];
    }
    return [];
  });
  if (conditions.length === 0) return new Map();
  const rows = await selectViews(db).where(or(...conditions));
  const found = new Map<string, string>();
  for (const row of rows) {
    const scope = row.projectName === null ? [row.organizationName] : [row.organizationName, row.projectName];
    found.set([...scope, row.name, row.semanticVersion ?? row.id].join('/'), row.id);
    found.set([...scope, row.name, row.id].join('/'), row.id);
  }
  return found;
}

/** The HCL body as it was uploaded, read back from the object store. */
export async function releaseLifecycleBody(store: TemplateStore, lifecycle: Pick<ReleaseLifecycleRow, 'objectKey' | 'id'>): Promise<string> {
  const object = await store.get(lifecycle.objectKey);
  if (!object) throw new AppError('SERVICE_UNAVAILABLE', `The body of release lifecycle ${lifecycle.id} is missing from the object store`);
  return new Response(object.body).text();
}

export type ListReleaseLifecyclesFilter = (
  | {
      organizationId: string;
      /** Also the lifecycles of the organization's projects (default: only the organization's own). */
      includeProjects?: boolean;
    }
  | {
      /** The project's lifecycles and its organization's, which it may use. */
      projectId: string;
    }
) & {
  name?: string;
  /** true: only the latest version of each name; false: only the others. */
  latest?: boolean;
  sort?: ReleaseLifecycleSort;
};

export type ReleaseLifecycleSort = 'CREATED_AT_DESC' | 'CREATED_AT_ASC';

export interface ReleaseLifecyclePage {
  after?: string;
  before?: string;
  limit: number;
  inverted: boolean;
}

export type ReleaseLifecycleListRow = ReleaseLifecycleView & { createdAtMicros: string };

/** The sort key a cursor carries. */
export const releaseLifecycleCursorKey = (row: ReleaseLifecycleListRow) => `${row.createdAtMicros}:${row.id}`;

const createdAtMicros = sql<string>`(extract(epoch from ${releaseLifecycles.createdAt}) * 1000000)::bigint::text`;

/** Where the listed lifecycles live, authorized. */
async function listScope(db: HttpDatabase, caller: Caller, filter: ListReleaseLifecyclesFilter): Promise<SQL | undefined> {
  if ('projectId' in filter) {
    const project = await loadProjectPath(db, filter.projectId);
    authorize(caller, 'release_lifecycle:view', { organizationId: project.organizationId, projectId: project.id });
    return and(
      eq(releaseLifecycles.organizationId, project.organizationId),
      or(isNull(releaseLifecycles.projectId), eq(releaseLifecycles.projectId, project.id)),
    );
  }
  authorize(caller, 'release_lifecycle:view', { organizationId: filter.organizationId });
  if (!isUuid(filter.organizationId)) throw notFound('Organization');
  return and(eq(releaseLifecycles.organizationId, filter.organizationId), filter.includeProjects ? undefined : isNull(releaseLifecycles.projectId));
}

/** A page of lifecycles matching the filter, with how many match in all. */
export async function listReleaseLifecycles(
  db: HttpDatabase,
  caller: Caller,
  filter: ListReleaseLifecyclesFilter,
  page: ReleaseLifecyclePage,
): Promise<{ rows: ReleaseLifecycleListRow[]; totalCount: number }> {
  const matching = and(
    await listScope(db, caller, filter),
    filter.name === undefined ? undefined : eq(releaseLifecycles.name, filter.name),
    filter.latest === undefined ? undefined : eq(releaseLifecycles.latest, filter.latest),
  );
  const ascending = (filter.sort ?? 'CREATED_AT_DESC') === 'CREATED_AT_ASC';
  const row = sql`(${releaseLifecycles.createdAt}, ${releaseLifecycles.id})`;
  // `after` a cursor is further along the sort order, `before` it further back.
  const keyset: SQL[] = [];
  if (page.after !== undefined) keyset.push(sql`${row} ${sql.raw(ascending ? '>' : '<')} ${keysetPosition(page.after, 'after')}`);
  if (page.before !== undefined) keyset.push(sql`${row} ${sql.raw(ascending ? '<' : '>')} ${keysetPosition(page.before, 'before')}`);
  const up = ascending !== page.inverted;
  const order = up ? [asc(releaseLifecycles.createdAt), asc(releaseLifecycles.id)] : [desc(releaseLifecycles.createdAt), desc(releaseLifecycles.id)];
  const [rows, [total]] = await db.batch([
    db
      .select({ ...columns, createdAtMicros })
      .from(releaseLifecycles)
      .innerJoin(organizations, eq(organizations.id, releaseLifecycles.organizationId))
      .leftJoin(lifecycleProject, eq(lifecycleProject.id, releaseLifecycles.projectId))
      .where(and(matching, ...keyset))
      .orderBy(...order)
      .limit(page.limit),
    db.select({ value: count() }).from(releaseLifecycles).where(matching),
  ]);
  return { rows: rows.map((selected) => ({ ...viewOf(selected), createdAtMicros: selected.createdAtMicros })), totalCount: total?.value ?? 0 };
}

export interface CreateReleaseLifecycleInput {
  /** Exactly one of organizationId (an organization-level lifecycle) and projectId. */
  organizationId?: string;
  projectId?: string;
  name: string;
  versioned: boolean;
  semanticVersion?: string;
  hclData: string;
}

interface Scope {
  organizationId: string;
  organizationName: string;
  projectId: string | null;
  projectName: string | null;
}

/** Where a new lifecycle goes, with the names of its PRN; the caller must hold release_lifecycle:manage there. */
async function scopeOf(db: HttpDatabase, caller: Caller, input: CreateReleaseLifecycleInput) {
  if (input.organizationId !== undefined && input.projectId !== undefined) {
    throw badInput('projectId', 'give organizationId for an organization-level lifecycle or projectId for a project-level one, not both');
  }
  if (input.projectId !== undefined) {
    const project = await loadProjectPath(db, input.projectId);
    const principal = authorize(caller, 'release_lifecycle:manage', { organizationId: project.organizationId, projectId: project.id });
    const scope: Scope = {
      organizationId: project.organizationId,
      organizationName: project.organizationName,
      projectId: project.id,
      projectName: project.name,
    };
    return { principal, scope };
  }
  if (input.organizationId === undefined) throw badInput('organizationId', 'give organizationId or projectId');
  const principal = authorize(caller, 'release_lifecycle:manage', { organizationId: input.organizationId });
  if (!isUuid(input.organizationId)) throw notFound('Organization');
  const [organization] = await db.select({ name: organizations.name }).from(organizations).where(eq(organizations.id, input.organizationId));
  if (!organization) throw notFound('Organization');
  const scope: Scope = { organizationId: input.organizationId, organizationName: organization.name, projectId: null, projectName: null };
  return { principal, scope };
}

const lockKey = (scope: { organizationId: string; projectId: string | null }) => `release_lifecycles:${scope.projectId ?? scope.organizationId}`;

/** The scope's own lifecycles, in SQL, for statements that rank versions. */
function inScope(scope: { organizationId: string; projectId: string | null }): SQL {
  return scope.projectId === null ? sql`organization_id = ${scope.organizationId} and project_id is null` : sql`project_id = ${scope.projectId}`;
}

function tooLarge(maxBytes: number, size: number): AppError {
  return new AppError('PAYLOAD_TOO_LARGE', `Release lifecycles are limited to ${maxBytes} bytes (PHOBOS_TEMPLATE_MAX_UPLOAD_SIZE); this one is ${size} bytes`, {
    field: 'hclData',
    details: { limit: maxBytes },
  });
}

/** Creates a lifecycle version from HCL: see the header. */
export async function createReleaseLifecycle(
  db: HttpDatabase,
  store: TemplateStore,
  caller: Caller,
  limits: TemplateLimits,
  input: CreateReleaseLifecycleInput,
): Promise<ReleaseLifecycleView> {
  const { principal, scope } = await scopeOf(db, caller, input);
  const name = validateName('name', input.name);
  const semanticVersion = validateVersion(input.versioned, input.semanticVersion, 'lifecycle');
  const bytes = encoder.encode(input.hclData);
  if (bytes.byteLength > limits.maxUploadBytes) throw tooLarge(limits.maxUploadBytes, bytes.byteLength);
  const compiled = compileReleaseLifecycle(input.hclData);
  if (!compiled.ok) throw templateProblems(compiled.problems, 'lifecycle');
  const ruleProblems = await checkApprovalRules(db, input.hclData, compiled.template, scope.organizationName, "this lifecycle's");
  if (ruleProblems.length > 0) throw templateProblems(ruleProblems, 'lifecycle');

  const sha256 = await sha256Hex(bytes);
  const id = crypto.randomUUID();
  const prn = releaseLifecyclePrn({ ...scope, name, semanticVersion, id });
  const duplicate = () =>
    new AppError('CONFLICT', `Version ${semanticVersion} of release lifecycle ${name} already exists; lifecycle versions are immutable: upload a new version`, {
      field: 'semanticVersion',
    });
  let versions = await versionsOf(db, scope, name);
  if (semanticVersion !== null && versions.includes(semanticVersion)) throw duplicate();

  // A random key, not derived from names: nothing can guess or collide with it.
  const objectKey = `release-lifecycles/${scope.organizationId}/${crypto.randomUUID()}`;
  await store.put(objectKey, bytes, { contentType: 'text/plain; charset=utf-8', sha256 });
  try {
    for (let attempt = 1; ; attempt++) {
      const latest = semanticVersion !== null && versions.every((version) => compareSemanticVersions(semanticVersion, version) > 0);
      const sameName = sql`select count(*) from release_lifecycles where ${inScope(scope)} and name = ${name} and semantic_version is not null`;
      const inserted = sql`exists (select 1 from release_lifecycles where id = ${id})`;
      const [, result] = await db
        .batch([
          advisoryLock(db, lockKey(scope)),
          db.execute<{ id: string }>(sql`
            insert into release_lifecycles (id, organization_id, project_id, name, versioned, semantic_version, latest, sha256, size_bytes, object_key, compiled, created_by)
            select ${id}, ${scope.organizationId}, ${scope.projectId}, ${name}, ${input.versioned}, ${semanticVersion}, ${latest}, ${sha256}, ${bytes.byteLength},
              ${objectKey}, ${JSON.stringify(compiled.template)}::jsonb, ${principalName(principal)}
            where (${sameName}) = ${versions.length}
            returning id`),
          db.execute(sql`
            update release_lifecycles set latest = false, updated_at = now()
            where ${inScope(scope)} and name = ${name} and latest and id <> ${id} and ${latest} and ${inserted}`),
          recordActivity(
            db,
            principal,
            {
              action: 'create',
              targetType: 'release_lifecycle',
              targetId: id,
              targetPrn: prn,
              organizationId: scope.organizationId,
              projectId: scope.projectId,
              payload: { name, semanticVersion, sha256, sizeBytes: bytes.byteLength },
            },
            inserted,
          ),
        ])
        .catch((error: unknown) => {
          const constraint = scope.projectId === null ? 'release_lifecycles_organization_version_key' : 'release_lifecycles_project_version_key';
          return rethrowConflict(error, constraint, 'semanticVersion', duplicate().message);
        });
      if ((result as { rows: unknown[] }).rows.length > 0) break;
      // Another version of the name arrived between ranking and inserting: rank again.
      versions = await versionsOf(db, scope, name);
      if (semanticVersion !== null && versions.includes(semanticVersion)) throw duplicate();
      if (attempt >= rankAttempts) throw new AppError('CONFLICT', `Release lifecycle ${name} is being changed by others; try again`);
    }
  } catch (error) {
    // The row is not there: neither may its body be.
    await store.delete(objectKey).catch(() => undefined);
    throw error;
  }
  const created = await find(db, id);
  if (!created) throw notFound('Release lifecycle');
  return created;
}

async function versionsOf(db: HttpDatabase, scope: { organizationId: string; projectId: string | null }, name: string): Promise<string[]> {
  const rows = await db
    .select({ version: releaseLifecycles.semanticVersion })
    .from(releaseLifecycles)
    .where(
      and(
        eq(releaseLifecycles.organizationId, scope.organizationId),
        scope.projectId === null ? isNull(releaseLifecycles.projectId) : eq(releaseLifecycles.projectId, scope.projectId),
        eq(releaseLifecycles.name, name),
        isNotNull(releaseLifecycles.semanticVersion),
      ),
    );
  return rows.map((row) => row.version!);
}

/**
 * Deletes a lifecycle version and its body; the highest remaining version of its name becomes
 * latest. A version that rows elsewhere reference (releases) is refused with CONFLICT, and nothing
 * is deleted.
 */
export async function deleteReleaseLifecycle(db: HttpDatabase, store: TemplateStore, caller: Caller, id: string): Promise<ReleaseLifecycleView> {
  const lifecycle = await find(db, id);
  if (!lifecycle) throw notFound('Release lifecycle');
  const principal = authorize(caller, 'release_lifecycle:manage', targetOf(lifecycle), 'Release lifecycle');
  const remaining = (await versionsOf(db, lifecycle, lifecycle.name)).filter((version) => version !== lifecycle.semanticVersion);
  const next = remaining.toSorted(compareSemanticVersions).at(-1) ?? null;
  const deleted = sql`not exists (select 1 from release_lifecycles where id = ${id})`;
  const [, result] = await db
    .batch([
      advisoryLock(db, lockKey(lifecycle)),
      db.execute<{ id: string }>(sql`delete from release_lifecycles where id = ${id} returning id`),
      db.execute(sql`
        update release_lifecycles set latest = (semantic_version = ${next}), updated_at = now()
        where ${inScope(lifecycle)} and name = ${lifecycle.name} and semantic_version is not null and ${lifecycle.latest} and ${deleted}`),
      recordActivity(
        db,
        principal,
        {
          action: 'delete',
          targetType: 'release_lifecycle',
          targetId: id,
          targetPrn: lifecycle.prn,
          organizationId: lifecycle.organizationId,
          projectId: lifecycle.projectId,
          payload: { name: lifecycle.name, semanticVersion: lifecycle.semanticVersion },
        },
        deleted,
      ),
    ])
    .catch((error: unknown) => rethrowStillReferenced(error, `Release lifecycle ${lifecycle.prn} cannot be deleted: releases use it`));
  if ((result as { rows: unknown[] }).rows.length === 0) throw notFound('Release lifecycle');
  // After the row: a body without a row is garbage, a row without a body would be broken.
  await store.delete(lifecycle.objectKey).catch(() => undefined);
  return lifecycle;
}
