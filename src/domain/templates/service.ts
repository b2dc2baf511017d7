// Pipeline templates of a project: immutable versions of HCL. Creating one checks the size limit
// (PHOBOS_TEMPLATE_MAX_UPLOAD_SIZE), compiles the template (compile.ts: every problem at its line
// and column), checks that every approval rule it names exists in the project's organization, then
// puts the body in the object store FIRST under an unguessable key and inserts the row (with its
// SHA-256, size and compiled model) after it; a row that cannot be inserted takes its object with it.
// So a row always has its body, and a refused upload stores nothing that anything points to.
// `latest` marks the highest semantic version of a (project, name); creates of one project are
// serialised by an advisory lock and only insert when the versions they ranked against are still
// all there is. Managed with pipeline_template:manage, read by whoever may view the project.
import { and, asc, count, desc, eq, getTableColumns, inArray, isNotNull, sql, type SQL } from 'drizzle-orm';
import { authorize, isAllowed, type Caller } from '../../auth/rbac';
import { advisoryLock } from '../../db/advisory-lock';
import type { HttpDatabase } from '../../db/client';
import { rethrowConflict, rethrowStillReferenced } from '../../db/postgres-errors';
import { organizations, pipelineTemplates, projects, type PipelineTemplateRow } from '../../db/schema';
import { AppError, notFound } from '../../errors';
import type { ObjectStore } from '../../platform/object-store/object-store';
import { recordActivity } from '../activity/record';
import { loadProjectPath } from '../environments/service';
import { isUuid, wellFormedIds } from '../ids';
import { validateName } from '../names';
import { prnOf } from '../prn';
import { withinLimit } from '../resource-limits/within-limit';
import { compilePipelineTemplate } from './compile';
import { tooLarge } from './repository-file';
import { compareSemanticVersions } from './semver';
import { checkApprovalRules, principalName, sha256Hex, templateProblems, validateVersion } from './upload';
import { keysetPosition } from '../keyset-position';

/** The store operations templates use. */
export type TemplateStore = Pick<ObjectStore, 'put' | 'get' | 'delete'>;

export type PipelineTemplateView = PipelineTemplateRow & { organizationName: string; projectName: string; prn: string };

const limitName = 'ResourceLimitPipelineTemplatesPerProject';
const lockKey = (projectId: string) => `pipeline_templates:${projectId}`;
const encoder = new TextEncoder();
/** How often a create re-ranks its version when other versions of the name arrived meanwhile. */
const rankAttempts = 5;

/** `prn:pipeline_template:<org>/<project>/<name>/<version>`; an unversioned template's last segment is its id. */
function pipelineTemplatePrn(row: { organizationName: string; projectName: string; name: string; semanticVersion: string | null; id: string }): string {
  return prnOf('pipeline_template', row.organizationName, row.projectName, row.name, row.semanticVersion ?? row.id);
}

function selectViews(db: HttpDatabase) {
  return db
    .select({ ...getTableColumns(pipelineTemplates), organizationName: organizations.name, projectName: projects.name })
    .from(pipelineTemplates)
    .innerJoin(projects, eq(projects.id, pipelineTemplates.projectId))
    .innerJoin(organizations, eq(organizations.id, pipelineTemplates.organizationId));
}

type Selected = PipelineTemplateRow & { organizationName: string; projectName: string };

const viewOf = (row: Selected): PipelineTemplateView => ({ ...row, prn: pipelineTemplatePrn(row) });

const targetOf = (row: { organizationId: string; projectId: string }) => ({ organizationId: row.organizationId, projectId: row.projectId });

async function find(db: HttpDatabase, id: string): Promise<PipelineTemplateView | undefined> {
  if (!isUuid(id)) return undefined;
  const [row] = await selectViews(db).where(eq(pipelineTemplates.id, id));
  return row ? viewOf(row) : undefined;
}

/** The template, as the caller may see it (project:view), or NOT_FOUND. */
export async function getPipelineTemplate(db: HttpDatabase, caller: Caller, id: string): Promise<PipelineTemplateView> {
  const template = await find(db, id);
  if (!template) throw notFound('Pipeline template');
  authorize(caller, 'project:view', targetOf(template), 'Pipeline template');
  return template;
}

/** The templates with these ids that the caller may see, in one query. */
export async function pipelineTemplatesByIds(db: HttpDatabase, caller: Caller, ids: readonly string[]): Promise<PipelineTemplateView[]> {
  const wellFormed = wellFormedIds(ids);
  if (wellFormed.length === 0) return [];
  const rows = await selectViews(db).where(inArray(pipelineTemplates.id, wellFormed));
  return rows.filter((row) => isAllowed(caller, 'project:view', targetOf(row))).map(viewOf);
}

/** Ids of the templates at these PRN paths (`<org>/<project>/<name>/<version or id>`), keyed by path. */
export async function pipelineTemplateIdsByPath(db: HttpDatabase, paths: readonly string[][]): Promise<Map<string, string>> {
  const conditions = paths
    .filter((path) => path.length === 4)
    .map(([organization, project, name, last]) =>
      and(
        eq(organizations.name, organization!),
        eq(projects.name, project!),
        eq(pipelineTemplates.name, name!),
        isUuid(last!)
          ? sql`(${pipelineTemplates.semanticVersion} = ${last} or ${pipelineTemplates.id} = ${last})`
          : eq(pipelineTemplates.semanticVersion, last!),
      ),
    );
  if (conditions.length === 0) return new Map();
  const rows = await selectViews(db).where(
    sql.join(
      conditions.map((condition) => sql`(${condition})`),
      sql` or `,
    ),
  );
  const found = new Map<string, string>();
  for (const row of rows) {
    found.set([row.organizationName, row.projectName, row.name, row.semanticVersion ?? row.id].join('/'), row.id);
    found.set([row.organizationName, row.projectName, row.name, row.id].join('/'), row.id);
  }
  return found;
}

/** The HCL body as it was uploaded, read back from the object store. */
export async function pipelineTemplateBody(store: TemplateStore, template: Pick<PipelineTemplateRow, 'objectKey' | 'id'>): Promise<string> {
  const object = await store.get(template.objectKey);
  if (!object) throw new AppError('SERVICE_UNAVAILABLE', `The body of pipeline template ${template.id} is missing from the object store`);
  return new Response(object.body).text();
}

export interface ListPipelineTemplatesFilter {
  projectId: string;
  name?: string;
  /** true: only the latest version of each name; false: only the others. */
  latest?: boolean;
  versioned?: boolean;
  sort?: PipelineTemplateSort;
}

export type PipelineTemplateSort = 'CREATED_AT_DESC' | 'CREATED_AT_ASC';

export interface PipelineTemplatePage {
  after?: string;
  before?: string;
  limit: number;
  inverted: boolean;
}

export type PipelineTemplateListRow = PipelineTemplateView & { createdAtMicros: string };

/** The sort key a cursor carries. */
export const templateCursorKey = (row: PipelineTemplateListRow) => `${row.createdAtMicros}:${row.id}`;

const createdAtMicros = sql<string>`(extract(epoch from ${pipelineTemplates.createdAt}) * 1000000)::bigint::text`;

/** A page of a project's templates matching the filter, with how many match in all. */
export async function listPipelineTemplates(
  db: HttpDatabase,
  caller: Caller,
  filter: ListPipelineTemplatesFilter,
  page: PipelineTemplatePage,
): Promise<{ rows: PipelineTemplateListRow[]; totalCount: number }> {
  const project = await loadProjectPath(db, filter.projectId);
  authorize(caller, 'project:view', { organizationId: project.organizationId, projectId: project.id });
  const matching = and(
    eq(pipelineTemplates.projectId, project.id),
    filter.name === undefined ? undefined : eq(pipelineTemplates.name, filter.name),
    filter.latest === undefined ? undefined : eq(pipelineTemplates.latest, filter.latest),
    filter.versioned === undefined ? undefined : eq(pipelineTemplates.versioned, filter.versioned),
  );
  const ascending = (filter.sort ?? 'CREATED_AT_DESC') === 'CREATED_AT_ASC';
  const row = sql`(${pipelineTemplates.createdAt}, ${pipelineTemplates.id})`;
  // `after` a cursor is further along the sort order, `before` it further back.
  const forward = ascending ? '>' : '<';
  const backward = ascending ? '<' : '>';
  const keyset: SQL[] = [];
  if (page.after !== undefined) keyset.push(sql`${row} ${sql.raw(forward)} ${keysetPosition(page.after, 'after')}`);
  if (page.before !== undefined) keyset.push(sql`${row} ${sql.raw(backward)} ${keysetPosition(page.before, 'before')}`);
  const up = ascending !== page.inverted;
  const order = up ? [asc(pipelineTemplates.createdAt), asc(pipelineTemplates.id)] : [desc(pipelineTemplates.createdAt), desc(pipelineTemplates.id)];
  const [rows, [total]] = await db.batch([
    db
      .select({ ...getTableColumns(pipelineTemplates), organizationName: organizations.name, projectName: projects.name, createdAtMicros })
      .from(pipelineTemplates)
      .innerJoin(projects, eq(projects.id, pipelineTemplates.projectId))
      .innerJoin(organizations, eq(organizations.id, pipelineTemplates.organizationId))
      .where(and(matching, ...keyset))
      .orderBy(...order)
      .limit(page.limit),
    db.select({ value: count() }).from(pipelineTemplates).where(matching),
  ]);
  return { rows: rows.map((selected) => ({ ...viewOf(selected), createdAtMicros: selected.createdAtMicros })), totalCount: total?.value ?? 0 };
}

export interface CreatePipelineTemplateInput {
  projectId: string;
  name: string;
  versioned: boolean;
  semanticVersion?: string;
  hclData: string;
}

/** Where a template read from a repository came from. */
export interface TemplateSource {
  source: 'upload' | 'vcs';
  sourceDetails: Record<string, string> | null;
}

export interface TemplateLimits {
  /** PHOBOS_TEMPLATE_MAX_UPLOAD_SIZE. */
  maxUploadBytes: number;
}

/** Creates a template version from HCL given in the request. */
export async function createPipelineTemplate(
  db: HttpDatabase,
  store: TemplateStore,
  caller: Caller,
  limits: TemplateLimits,
  input: CreatePipelineTemplateInput,
): Promise<PipelineTemplateView> {
  return storePipelineTemplate(db, store, caller, limits, input, { source: 'upload', sourceDetails: null });
}

/** Creates a template version: see the header. Used for uploads and for files read from a repository. */
export async function storePipelineTemplate(
  db: HttpDatabase,
  store: TemplateStore,
  caller: Caller,
  limits: TemplateLimits,
  input: CreatePipelineTemplateInput,
  origin: TemplateSource,
): Promise<PipelineTemplateView> {
  const project = await loadProjectPath(db, input.projectId);
  const principal = authorize(caller, 'pipeline_template:manage', { organizationId: project.organizationId, projectId: project.id });
  const name = validateName('name', input.name);
  const semanticVersion = validateVersion(input.versioned, input.semanticVersion);
  const bytes = encoder.encode(input.hclData);
  if (bytes.byteLength > limits.maxUploadBytes) throw tooLarge(limits.maxUploadBytes, bytes.byteLength);
  const compiled = compilePipelineTemplate(input.hclData);
  if (!compiled.ok) throw templateProblems(compiled.problems);
  const ruleProblems = await checkApprovalRules(db, input.hclData, compiled.template, project.organizationName);
  if (ruleProblems.length > 0) throw templateProblems(ruleProblems);

  const sha256 = await sha256Hex(bytes);
  const id = crypto.randomUUID();
  const prn = pipelineTemplatePrn({ organizationName: project.organizationName, projectName: project.name, name, semanticVersion, id });
  const duplicate = () =>
    new AppError('CONFLICT', `Version ${semanticVersion} of pipeline template ${name} already exists; template versions are immutable: upload a new version`, {
      field: 'semanticVersion',
    });
  let versions = await versionsOf(db, project.id, name);
  if (semanticVersion !== null && versions.includes(semanticVersion)) throw duplicate();

  // A random key, not derived from names: nothing can guess or collide with it.
  const objectKey = `pipeline-templates/${project.id}/${crypto.randomUUID()}`;
  await store.put(objectKey, bytes, { contentType: 'text/plain; charset=utf-8', sha256 });
  try {
    for (let attempt = 1; ; attempt++) {
      const latest = semanticVersion !== null && versions.every((version) => compareSemanticVersions(semanticVersion, version) > 0);
      const sameName = sql`select count(*) from pipeline_templates where project_id = ${project.id} and name = ${name} and semantic_version is not null`;
      const inserted = sql`exists (select 1 from pipeline_templates where id = ${id})`;
      const [, result] = await db
        .batch([
          advisoryLock(db, lockKey(project.id)),
          db.execute<{ id: string }>(sql`
            insert into pipeline_templates (id, organization_id, project_id, name, versioned, semantic_version, latest, sha256, size_bytes, object_key, compiled, source, source_details, created_by)
            select ${id}, ${project.organizationId}, ${project.id}, ${name}, ${input.versioned}, ${semanticVersion}, ${latest}, ${sha256}, ${bytes.byteLength},
              ${objectKey}, ${JSON.stringify(compiled.template)}::jsonb, ${origin.source}, ${origin.sourceDetails ? JSON.stringify(origin.sourceDetails) : null}::jsonb,
              ${principalName(principal)}
            where ${withinLimit(limitName, sql`select count(*) from pipeline_templates where project_id = ${project.id}`)}
              and (${sameName}) = ${versions.length}
            returning id`),
          db.execute(sql`
            update pipeline_templates set latest = false, updated_at = now()
            where project_id = ${project.id} and name = ${name} and latest and id <> ${id} and ${latest} and ${inserted}`),
          recordActivity(
            db,
            principal,
            {
              action: 'create',
              targetType: 'pipeline_template',
              targetId: id,
              targetPrn: prn,
              organizationId: project.organizationId,
              projectId: project.id,
              payload: { name, semanticVersion, sha256, sizeBytes: bytes.byteLength, source: origin.source },
            },
            inserted,
          ),
        ])
        .catch((error: unknown) => rethrowConflict(error, 'pipeline_templates_version_key', 'semanticVersion', duplicate().message));
      if ((result as { rows: unknown[] }).rows.length > 0) break;
      const now = await versionsOf(db, project.id, name);
      if (now.length === versions.length || attempt >= rankAttempts) await throwLimitReached(db);
      versions = now;
      if (semanticVersion !== null && versions.includes(semanticVersion)) throw duplicate();
    }
  } catch (error) {
    // The row is not there: neither may its body be.
    await store.delete(objectKey).catch(() => undefined);
    throw error;
  }
  const created = await find(db, id);
  if (!created) throw notFound('Pipeline template');
  return created;
}

async function versionsOf(db: HttpDatabase, projectId: string, name: string): Promise<string[]> {
  const rows = await db
    .select({ version: pipelineTemplates.semanticVersion })
    .from(pipelineTemplates)
    .where(and(eq(pipelineTemplates.projectId, projectId), eq(pipelineTemplates.name, name), isNotNull(pipelineTemplates.semanticVersion)));
  return rows.map((row) => row.version!);
}

async function throwLimitReached(db: HttpDatabase): Promise<never> {
  const [limit] = (await db.execute<{ value: number }>(sql`select value from resource_limits where name = ${limitName}`)).rows;
  throw new AppError('RESOURCE_LIMIT_EXCEEDED', `Resource limit ${limitName} (${limit?.value ?? 'unknown'}) reached`, {
    details: { limit: limitName, value: limit?.value },
  });
}

/**
 * Deletes a template version and its body; the highest remaining version of its name becomes latest.
 * A version pipelines were created from is refused with CONFLICT (their rows reference it), and
 * nothing is deleted.
 */
export async function deletePipelineTemplate(db: HttpDatabase, store: TemplateStore, caller: Caller, id: string): Promise<PipelineTemplateView> {
  const template = await find(db, id);
  if (!template) throw notFound('Pipeline template');
  const principal = authorize(caller, 'pipeline_template:manage', targetOf(template), 'Pipeline template');
  const remaining = (await versionsOf(db, template.projectId, template.name)).filter((version) => version !== template.semanticVersion);
  const next = remaining.toSorted(compareSemanticVersions).at(-1) ?? null;
  const deleted = sql`not exists (select 1 from pipeline_templates where id = ${id})`;
  const [, result] = await db
    .batch([
      advisoryLock(db, lockKey(template.projectId)),
      db.execute<{ id: string }>(sql`delete from pipeline_templates where id = ${id} returning id`),
      db.execute(sql`
        update pipeline_templates set latest = (semantic_version = ${next}), updated_at = now()
        where project_id = ${template.projectId} and name = ${template.name} and semantic_version is not null and ${template.latest} and ${deleted}`),
      recordActivity(
        db,
        principal,
        {
          action: 'delete',
          targetType: 'pipeline_template',
          targetId: id,
          targetPrn: template.prn,
          organizationId: template.organizationId,
          projectId: template.projectId,
          payload: { name: template.name, semanticVersion: template.semanticVersion },
        },
        deleted,
      ),
    ])
    .catch((error: unknown) =>
      rethrowStillReferenced(error, `Pipeline template ${template.prn} cannot be deleted: pipelines were created from it, or releases deploy with it`),
    );
  if ((result as { rows: unknown[] }).rows.length === 0) throw notFound('Pipeline template');
  // After the row: a body without a row is garbage, a row without a body would be broken.
  await store.delete(template.objectKey).catch(() => undefined);
  return template;
}
