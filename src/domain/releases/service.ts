// Releases of a project: one semantic version (unique per project; pre-release when it has a
// pre-release part), its notes (Markdown), due date, variables, and the snapshot of its automation —
// a pipeline template version for every environment and/or one per environment, each a template of
// the project. Creating one does not start anything by itself: the lifecycle's RELEASE_LIFECYCLE
// pipeline is started by the caller of createRelease (see startedLifecyclePipeline and
// releaseAutomation). Managed with release:manage, read with release:view.
import { and, count, eq, getTableColumns, gt, inArray, lte, sql, type SQL } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { authorize, isAllowed, type Caller } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { advisoryLock } from '../../db/advisory-lock';
import { rethrowConflict } from '../../db/postgres-errors';
import {
  organizations,
  pipelineTemplates,
  projects,
  releaseAssets,
  releasePipelineTemplates,
  releases,
  type ReleaseRow,
  type ReleaseStatus,
} from '../../db/schema';
import type { ObjectStore } from '../../platform/object-store/object-store';
import { AppError, badInput, notFound } from '../../errors';
import { recordActivity } from '../activity/record';
import { loadProjectPath } from '../environments/service';
import { isUuid, wellFormedIds } from '../ids';
import { validateName } from '../names';
import { openJson, sealJson, type EngineConfig } from '../pipelines/secrets';
import { prnOf } from '../prn';
import type { ReleaseLifecycleTemplate } from '../lifecycles/model';
import type { PipelineTemplate } from '../templates/model';
import { isSemanticVersion } from '../templates/semver';
import { textProblem } from '../text';
import { versionedChange } from '../versioned-update';
import { releaseOrder, type ReleaseSort } from './list-order';
import { checkReleaseVariables, variablesForTemplate } from './variables';

/** A release as shown: never its sealed values. */
export type ReleaseView = Omit<ReleaseRow, 'sensitiveVariables'> & { organizationName: string; projectName: string; prn: string };

/** Notes are Markdown of at most 64 KiB (UTF-8). */
const maxNotesBytes = 64 * 1024;
const maxEnvironmentTemplates = 50;
const encoder = new TextEncoder();

const sensitiveBinding = (releaseId: string) => `releases/${releaseId}/sensitive_variables`;

/** `prn:release:<organization>/<project>/<semantic version>`. */
const releasePrn = (organizationName: string, projectName: string, semanticVersion: string) => prnOf('release', organizationName, projectName, semanticVersion);

const { sensitiveVariables: _sealed, ...shownColumns } = getTableColumns(releases);

/** Release views, with `extra` columns (a list's sort key). */
function selectViews<Extra extends Record<string, SQL>>(db: HttpDatabase, extra: Extra = {} as Extra) {
  return db
    .select({ ...shownColumns, organizationName: organizations.name, projectName: projects.name, ...extra })
    .from(releases)
    .innerJoin(projects, eq(projects.id, releases.projectId))
    .innerJoin(organizations, eq(organizations.id, releases.organizationId));
}

type Selected = Omit<ReleaseView, 'prn'>;

const viewOf = (row: Selected): ReleaseView => ({
  ...row,
  prn: releasePrn(row.organizationName, row.projectName, row.semanticVersion),
});

export const releaseTarget = (release: Pick<ReleaseRow, 'organizationId' | 'projectId'>) => ({
  organizationId: release.organizationId,
  projectId: release.projectId,
});

async function find(db: HttpDatabase, id: string): Promise<ReleaseView | undefined> {
  if (!isUuid(id)) return undefined;
  const [row] = await selectViews(db).where(eq(releases.id, id));
  return row ? viewOf(row) : undefined;
}

/** The release, authorized for `permission` (release:view by default), or NOT_FOUND. */
export async function loadRelease(
  db: HttpDatabase,
  caller: Caller,
  id: string,
  permission: 'release:view' | 'release:manage' | 'release:comment' = 'release:view',
) {
  const release = await find(db, id);
  if (!release) throw notFound('Release');
  // Whoever may not see it learns nothing of it.
  authorize(caller, 'release:view', releaseTarget(release), 'Release');
  const principal = authorize(caller, permission, releaseTarget(release), 'Release');
  return { release, principal };
}

export async function getRelease(db: HttpDatabase, caller: Caller, id: string): Promise<ReleaseView> {
  return (await loadRelease(db, caller, id)).release;
}

/** The releases with these ids that the caller may see, in one query. */
export async function releasesByIds(db: HttpDatabase, caller: Caller, ids: readonly string[]): Promise<ReleaseView[]> {
  const wellFormed = wellFormedIds(ids);
  if (wellFormed.length === 0) return [];
  const rows = await selectViews(db).where(inArray(releases.id, wellFormed));
  return rows.filter((row) => isAllowed(caller, 'release:view', releaseTarget(row))).map((row) => viewOf(row));
}

/** Ids of the releases at these PRN paths (`<organization>/<project>/<version>`), keyed by path. */
export async function releaseIdsByPath(db: HttpDatabase, paths: readonly string[][]): Promise<Map<string, string>> {
  const conditions = paths
    .filter((path) => path.length === 3)
    .map(([organization, project, version]) => and(eq(organizations.name, organization!), eq(projects.name, project!), eq(releases.semanticVersion, version!)));
  if (conditions.length === 0) return new Map();
  const rows = await db
    .select({ id: releases.id, organizationName: organizations.name, projectName: projects.name, semanticVersion: releases.semanticVersion })
    .from(releases)
    .innerJoin(projects, eq(projects.id, releases.projectId))
    .innerJoin(organizations, eq(organizations.id, releases.organizationId))
    .where(
      sql.join(
        conditions.map((condition) => sql`(${condition})`),
        sql` or `,
      ),
    );
  return new Map(rows.map((row) => [[row.organizationName, row.projectName, row.semanticVersion].join('/'), row.id]));
}

function validateSemanticVersion(value: string): string {
  const version = value.trim();
  if (version.includes('+')) throw badInput('semanticVersion', 'must not carry build metadata (+...): it does not tell versions apart');
  if (!isSemanticVersion(version)) throw badInput('semanticVersion', 'must be a semantic version such as 1.2.0 or 1.3.0-rc.1');
  return version;
}

function validateNotes(value: string | undefined): string {
  const notes = value ?? '';
  if (encoder.encode(notes).length > maxNotesBytes) throw badInput('notes', `must be at most ${maxNotesBytes} bytes (64 KiB)`);
  const problem = textProblem(notes, { multiline: true });
  if (problem) throw badInput('notes', problem);
  return notes;
}

function validateDueDate(value: Date | null | undefined, now: Date): Date | null {
  if (value === undefined || value === null) return null;
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw badInput('dueDate', 'must be a date and time');
  if (value.getTime() <= now.getTime()) throw badInput('dueDate', 'must be in the future');
  return value;
}

export interface EnvironmentTemplateInput {
  environmentName: string;
  pipelineTemplateId: string;
}

export interface CreateReleaseInput {
  projectId: string;
  semanticVersion: string;
  notes?: string;
  dueDate?: Date | null;
  variables?: Record<string, unknown>;
  /** The template version every environment deploys with (unless it has its own). */
  pipelineTemplateId?: string;
  /** Per environment, the template version it deploys with. */
  environmentTemplates?: EnvironmentTemplateInput[];
  /** The release lifecycle it follows, and the compiled lifecycle as it is now (kept as its snapshot). */
  lifecycleId?: string;
  lifecycle?: ReleaseLifecycleTemplate;
}

/** The templates named, all of the project, as (field → compiled template). */
async function loadAutomation(db: HttpDatabase, projectId: string, input: CreateReleaseInput) {
  const environmentTemplates = input.environmentTemplates ?? [];
  if (input.pipelineTemplateId === undefined && environmentTemplates.length === 0) {
    throw badInput('pipelineTemplateId', 'give a pipeline template for every environment, or one per environment (environmentTemplates)');
  }
  if (environmentTemplates.length > maxEnvironmentTemplates) throw badInput('environmentTemplates', `at most ${maxEnvironmentTemplates}`);
  const named: { field: string; id: string }[] = [];
  if (input.pipelineTemplateId !== undefined) named.push({ field: 'pipelineTemplateId', id: input.pipelineTemplateId });
  const byEnvironment: Record<string, string> = {};
  environmentTemplates.forEach((entry, index) => {
    const name = validateName(`environmentTemplates[${index}].environmentName`, entry.environmentName);
    if (Object.hasOwn(byEnvironment, name)) throw badInput(`environmentTemplates[${index}].environmentName`, `environment ${name} is named twice`);
    byEnvironment[name] = entry.pipelineTemplateId;
    named.push({ field: `environmentTemplates[${index}].pipelineTemplateId`, id: entry.pipelineTemplateId });
  });
  const ids = wellFormedIds(named.map((entry) => entry.id));
  const rows =
    ids.length === 0
      ? []
      : await db
          .select({ id: pipelineTemplates.id, compiled: pipelineTemplates.compiled })
          .from(pipelineTemplates)
          .where(and(inArray(pipelineTemplates.id, ids), eq(pipelineTemplates.projectId, projectId)));
  const compiled = new Map(rows.map((row) => [row.id, row.compiled]));
  for (const entry of named) {
    if (!compiled.has(entry.id)) throw badInput(entry.field, 'no pipeline template with this id in the project');
  }
  return {
    pipelineTemplateId: input.pipelineTemplateId ?? null,
    environmentTemplates: byEnvironment,
    templateIds: [...compiled.keys()],
    templates: [...compiled.values()],
  };
}

/** A release checked and ready to write: its id and the statements that write it (with its activity). */
export interface PreparedRelease {
  id: string;
  statements: [BatchItem<'pg'>, ...BatchItem<'pg'>[]];
  semanticVersion: string;
}

/**
 * Checks a new release (authorization, version, notes, due date, templates, variables) and returns
 * the statements that write it, for a batch of the caller's choosing: cutRelease (cut.ts) writes them
 * in the same transaction as the release's lifecycle pipeline.
 */
export async function prepareRelease(
  db: HttpDatabase,
  config: EngineConfig,
  caller: Caller,
  input: CreateReleaseInput,
  now = new Date(),
): Promise<PreparedRelease> {
  const project = await loadProjectPath(db, input.projectId);
  const target = { organizationId: project.organizationId, projectId: project.id };
  authorize(caller, 'release:view', target, 'Project');
  const principal = authorize(caller, 'release:manage', target, 'Project');
  const semanticVersion = validateSemanticVersion(input.semanticVersion);
  const notes = validateNotes(input.notes);
  const dueDate = validateDueDate(input.dueDate, now);
  if (input.lifecycleId !== undefined && !isUuid(input.lifecycleId)) throw badInput('lifecycleId', 'must be the id of a release lifecycle');
  const automation = await loadAutomation(db, project.id, input);
  const variables = checkReleaseVariables(automation.templates, input.variables);
  const id = crypto.randomUUID();
  const sensitiveNames = Object.keys(variables.sensitive).sort();
  const sealed = sensitiveNames.length > 0 ? await sealJson(config, variables.sensitive, sensitiveBinding(id)) : null;
  const prn = releasePrn(project.organizationName, project.name, semanticVersion);
  const createdBy = principal.kind === 'user' ? principal.username : principal.name;
  return {
    id,
    semanticVersion,
    statements: [
      db.insert(releases).values({
        id,
        organizationId: project.organizationId,
        projectId: project.id,
        semanticVersion,
        preRelease: semanticVersion.includes('-'),
        notes,
        dueDate,
        variables: variables.plain,
        sensitiveVariables: sealed,
        sensitiveVariableNames: sensitiveNames,
        pipelineTemplateId: automation.pipelineTemplateId,
        environmentTemplates: automation.environmentTemplates,
        lifecycleId: input.lifecycleId ?? null,
        lifecycle: input.lifecycle ?? null,
        createdBy,
      }),
      db.insert(releasePipelineTemplates).values(automation.templateIds.map((pipelineTemplateId) => ({ releaseId: id, pipelineTemplateId }))),
      recordActivity(db, principal, {
        action: 'create',
        targetType: 'release',
        targetId: id,
        targetPrn: prn,
        ...target,
        // Names only: variable values (sensitive or not) stay out of the activity log.
        payload: {
          semanticVersion,
          dueDate: dueDate?.toISOString() ?? null,
          pipelineTemplateId: automation.pipelineTemplateId,
          environmentTemplates: automation.environmentTemplates,
          lifecycleId: input.lifecycleId ?? null,
          variables: Object.keys(input.variables ?? {}),
        },
      }),
    ],
  };
}

/** Writes a prepared release, or refuses a version the project already has. */
export async function writeRelease(prepared: Pick<PreparedRelease, 'semanticVersion'>, write: () => Promise<unknown>): Promise<void> {
  try {
    await write();
  } catch (error) {
    rethrowConflict(error, 'releases_project_version_key', 'semanticVersion', `Release ${prepared.semanticVersion} already exists in this project`);
  }
}

/** Creates a release (status CREATED) without a lifecycle pipeline; cutRelease starts one as well. */
export async function createRelease(db: HttpDatabase, config: EngineConfig, caller: Caller, input: CreateReleaseInput, now = new Date()): Promise<ReleaseView> {
  const prepared = await prepareRelease(db, config, caller, input, now);
  await writeRelease(prepared, () => db.batch(prepared.statements));
  return (await find(db, prepared.id))!;
}

export interface ListReleasesFilter {
  projectId: string;
  status?: ReleaseStatus;
  preRelease?: boolean;
  /** Only releases due before (at or before) this time. */
  dueBefore?: Date;
  /** Only releases due after this time. */
  dueAfter?: Date;
  sort?: ReleaseSort;
}

export interface ReleasePage {
  after?: string;
  before?: string;
  limit: number;
  inverted: boolean;
}

export type ReleaseListRow = ReleaseView & { sortKey: string };

/** The sort key a cursor carries (list-order.ts). */
export const releaseCursorKey = (row: ReleaseListRow) => row.sortKey;

/** A page of a project's releases matching the filter, with how many match in all. */
export async function listReleases(
  db: HttpDatabase,
  caller: Caller,
  filter: ListReleasesFilter,
  page: ReleasePage,
): Promise<{ rows: ReleaseListRow[]; totalCount: number }> {
  const project = await loadProjectPath(db, filter.projectId);
  authorize(caller, 'release:view', { organizationId: project.organizationId, projectId: project.id }, 'Project');
  const matching = and(
    eq(releases.projectId, project.id),
    filter.status === undefined ? undefined : eq(releases.status, filter.status),
    filter.preRelease === undefined ? undefined : eq(releases.preRelease, filter.preRelease),
    filter.dueBefore === undefined ? undefined : lte(releases.dueDate, filter.dueBefore),
    filter.dueAfter === undefined ? undefined : gt(releases.dueDate, filter.dueAfter),
  );
  const { keyset, orderBy, sortKey } = releaseOrder(filter.sort ?? 'CREATED_AT_DESC', page);
  const [rows, [total]] = await db.batch([
    selectViews(db, { sortKey })
      .where(and(matching, ...keyset))
      .orderBy(...orderBy)
      .limit(page.limit),
    db.select({ value: count() }).from(releases).where(matching),
  ]);
  return {
    rows: rows.map(({ sortKey: key, ...selected }) => ({ ...viewOf(selected), sortKey: key })),
    totalCount: total?.value ?? 0,
  };
}

export interface UpdateReleaseInput {
  notes?: string;
  /** null clears the due date. */
  dueDate?: Date | null;
  version?: number;
}

/** What every versioned change of a release shares. */
function versionedRelease(db: HttpDatabase, release: ReleaseView) {
  return {
    table: releases,
    what: `Release ${release.semanticVersion}`,
    notFoundAs: 'Release',
    current: release,
    reload: () => find(db, release.id),
  };
}

/** Changes notes and/or the due date (a new due date is warned about again). */
export async function updateRelease(db: HttpDatabase, caller: Caller, id: string, input: UpdateReleaseInput, now = new Date()): Promise<ReleaseView> {
  const { release, principal } = await loadRelease(db, caller, id, 'release:manage');
  const notes = input.notes === undefined ? undefined : validateNotes(input.notes);
  const dueDate = input.dueDate === undefined ? undefined : validateDueDate(input.dueDate, now);
  await versionedChange<ReleaseView, { id: string }>(db, {
    ...versionedRelease(db, release),
    expectedVersion: input.version,
    change: (atVersion) =>
      db
        .update(releases)
        .set({
          ...(notes === undefined ? {} : { notes }),
          ...(dueDate === undefined ? {} : { dueDate, dueNotice: null }),
          updatedAt: new Date(),
          version: sql`${releases.version} + 1`,
        })
        .where(atVersion)
        .returning({ id: releases.id }),
    activity: (current) => ({
      initiator: principal,
      event: {
        action: 'update',
        targetType: 'release',
        targetId: id,
        targetPrn: current.prn,
        ...releaseTarget(current),
        // Notes may be long: the event says that they changed, not what they say.
        payload: {
          notesChanged: notes !== undefined && notes !== current.notes,
          ...(dueDate === undefined ? {} : { old: { dueDate: current.dueDate?.toISOString() ?? null }, new: { dueDate: dueDate?.toISOString() ?? null } }),
        },
      },
    }),
  });
  return (await find(db, id))!;
}

/** The lock a release's pipelines are to be started under (the integrator exports it to createPipeline), so a delete cannot slip in between. */
const releasePipelinesLockKey = (releaseId: string) => `release_pipelines:${releaseId}`;

/**
 * Deletes a release that has no pipelines (none started for it, no lifecycle pipeline): a release
 * that has run stays, as the history of what was deployed. Its participants, comments and assets go
 * with it, the assets' files after the rows. Returns what it was.
 */
export async function deleteRelease(
  db: HttpDatabase,
  store: Pick<ObjectStore, 'delete'>,
  caller: Caller,
  id: string,
  input: { version?: number } = {},
): Promise<ReleaseView> {
  const { release, principal } = await loadRelease(db, caller, id, 'release:manage');
  const assets = await db.select({ objectKey: releaseAssets.objectKey }).from(releaseAssets).where(eq(releaseAssets.releaseId, release.id));
  await versionedChange<ReleaseView, { id: string }>(db, {
    ...versionedRelease(db, release),
    expectedVersion: input.version,
    guard: {
      lock: advisoryLock(db, releasePipelinesLockKey(release.id)),
      breaks: sql`(exists (select 1 from pipelines where release_id = ${release.id}) or exists (select 1 from releases where id = ${release.id} and lifecycle_pipeline_id is not null))`,
      refusal: () => new AppError('CONFLICT', `Release ${release.semanticVersion} has pipelines; a release that has run is kept`),
    },
    change: (atVersion) => db.delete(releases).where(atVersion).returning({ id: releases.id }),
    activity: (current) => ({
      initiator: principal,
      event: {
        action: 'delete',
        targetType: 'release',
        targetId: id,
        targetPrn: current.prn,
        ...releaseTarget(current),
        payload: { semanticVersion: current.semanticVersion },
      },
    }),
  });
  // No row points at these files any more; deleting them only frees the space.
  for (const asset of assets) await store.delete(asset.objectKey);
  return release;
}

/** Every variable value of a release, the sensitive ones opened. Trusted code only: no authorization here. */
export async function releaseVariableValues(
  config: EngineConfig,
  row: Pick<ReleaseRow, 'id' | 'variables' | 'sensitiveVariables'>,
): Promise<Record<string, unknown>> {
  const sensitive = row.sensitiveVariables ? await openJson<Record<string, unknown>>(config, row.sensitiveVariables, sensitiveBinding(row.id)) : {};
  return { ...row.variables, ...sensitive };
}

/**
 * What the integrator needs to start the release's pipelines: the template a given environment
 * deploys with (its own, else the release's default; null when neither), and the variables (sensitive
 * ones opened) that a pipeline of that template gets. Trusted code only: no authorization here.
 */
export async function releaseAutomation(db: HttpDatabase, config: EngineConfig, releaseId: string) {
  const [row] = await db.select().from(releases).where(eq(releases.id, releaseId));
  if (!row) throw notFound('Release');
  const values = await releaseVariableValues(config, row);
  return {
    templateIdFor: (environmentName: string): string | null => row.environmentTemplates[environmentName] ?? row.pipelineTemplateId,
    variablesFor: (template: PipelineTemplate) => variablesForTemplate(template, values),
  };
}
