// Environment protection rules of a project: who may deploy to the environments whose name matches
// a pattern (see db/schema/environments.ts for what a rule means, gatekeeper.ts for the check).
// Managed with environment:manage, read with environment:view; creating one counts against
// ResourceLimitProtectionRulesPerProject in the insert's transaction.
import { and, asc, eq, getTableColumns, inArray, or, sql } from 'drizzle-orm';
import { authorize, isAllowed, type Caller } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { rethrowConflict } from '../../db/postgres-errors';
import { environmentProtectionRules, organizations, projects, type EnvironmentProtectionRule } from '../../db/schema';
import { notFound } from '../../errors';
import { recordActivity } from '../activity/record';
import { resolvePrincipals, type PrincipalsInput } from '../approval-rules/principals';
import { wellFormedIds } from '../ids';
import { prnOf } from '../prn';
import { insertWithinLimit, withinLimit } from '../resource-limits/within-limit';
import { validateEnvironmentPattern } from './pattern';
import { loadProjectPath } from './service';
import { versionedChange } from '../versioned-update';

/** A rule with its PRN (prn:environment_protection_rule:<org>/<project>/<pattern>) and its teams' names. */
export type ProtectionRuleView = EnvironmentProtectionRule & { prn: string; teamNames: string[] };

const limitName = 'ResourceLimitProtectionRulesPerProject';

function selectViews(db: HttpDatabase) {
  return db
    .select({
      ...getTableColumns(environmentProtectionRules),
      organizationName: organizations.name,
      projectName: projects.name,
      // Names of the rule's teams as they are now (a renamed team stays on the rule); a deleted team drops out.
      teamNames: sql<string[]>`array(select name from teams where id = any(${environmentProtectionRules.teamIds}) order by name)`,
    })
    .from(environmentProtectionRules)
    .innerJoin(projects, eq(projects.id, environmentProtectionRules.projectId))
    .innerJoin(organizations, eq(organizations.id, environmentProtectionRules.organizationId));
}

type Selected = Awaited<ReturnType<ReturnType<typeof selectViews>['execute']>>[number];

function viewOf({ organizationName, projectName, ...rule }: Selected): ProtectionRuleView {
  return { ...rule, prn: prnOf('environment_protection_rule', organizationName, projectName, rule.environmentPattern) };
}

async function find(db: HttpDatabase, id: string): Promise<ProtectionRuleView | undefined> {
  const [row] = await selectViews(db).where(eq(environmentProtectionRules.id, id));
  return row ? viewOf(row) : undefined;
}

async function load(db: HttpDatabase, id: string): Promise<ProtectionRuleView> {
  const rule = await find(db, id);
  if (!rule) throw notFound('Environment protection rule');
  return rule;
}

export async function createProtectionRule(
  db: HttpDatabase,
  caller: Caller,
  input: { projectId: string; environmentPattern: string; principals: PrincipalsInput },
): Promise<ProtectionRuleView> {
  const project = await loadProjectPath(db, input.projectId);
  const principal = authorize(caller, 'environment:manage', { organizationId: project.organizationId, projectId: project.id });
  const pattern = validateEnvironmentPattern('environmentPattern', input.environmentPattern);
  const principals = await resolvePrincipals(db, project.organizationId, input.principals, { allowRoles: true });
  const id = crypto.randomUUID();
  try {
    await insertWithinLimit<{ id: string }>(db, {
      limitName,
      lockKey: `protection_rules:${project.id}`,
      statement: sql`
        insert into environment_protection_rules (id, organization_id, project_id, environment_pattern, user_ids, team_ids, service_account_ids, role_names)
        select ${id}, ${project.organizationId}, ${project.id}, ${pattern}, ${sql.param(principals.userIds)}::uuid[], ${sql.param(principals.teamIds)}::uuid[],
          ${sql.param(principals.serviceAccountIds)}::uuid[], ${sql.param(principals.roleNames)}::text[]
        where ${withinLimit(limitName, sql`select count(*) from environment_protection_rules where project_id = ${project.id}`)}
        returning id`,
      after: [
        recordActivity(
          db,
          principal,
          {
            action: 'create',
            targetType: 'environment_protection_rule',
            targetId: id,
            targetPrn: prnOf('environment_protection_rule', project.organizationName, project.name, pattern),
            organizationId: project.organizationId,
            projectId: project.id,
            payload: { environmentPattern: pattern, principals },
          },
          sql`exists (select 1 from environment_protection_rules where id = ${id})`,
        ),
      ],
    });
  } catch (error) {
    rethrowConflict(
      error,
      'environment_protection_rules_project_pattern_key',
      'environmentPattern',
      `A protection rule for ${pattern} already exists in this project`,
    );
  }
  return load(db, id);
}

/** The project's protection rules, by pattern. */
export async function listProtectionRules(db: HttpDatabase, caller: Caller, projectId: string): Promise<ProtectionRuleView[]> {
  const project = await loadProjectPath(db, projectId);
  authorize(caller, 'environment:view', { organizationId: project.organizationId, projectId: project.id });
  const rows = await selectViews(db).where(eq(environmentProtectionRules.projectId, project.id)).orderBy(asc(environmentProtectionRules.environmentPattern));
  return rows.map(viewOf);
}

/** The rules with these ids that the caller may see, in one query; the rest are not found. */
export async function protectionRulesByIds(db: HttpDatabase, caller: Caller, ids: readonly string[]): Promise<ProtectionRuleView[]> {
  const wellFormed = wellFormedIds(ids);
  if (wellFormed.length === 0) return [];
  const rows = await selectViews(db).where(inArray(environmentProtectionRules.id, wellFormed));
  return rows.filter((row) => isAllowed(caller, 'environment:view', { organizationId: row.organizationId, projectId: row.projectId })).map(viewOf);
}

/** The ids of the rules at these PRN paths (`<organization>/<project>/<pattern>`), in one query, keyed by path. */
export async function protectionRuleIdsByPath(db: HttpDatabase, paths: readonly string[][]): Promise<Map<string, string>> {
  const wanted = paths.filter((path) => path.length === 3);
  if (wanted.length === 0) return new Map();
  const rows = await db
    .select({
      id: environmentProtectionRules.id,
      organizationName: organizations.name,
      projectName: projects.name,
      pattern: environmentProtectionRules.environmentPattern,
    })
    .from(environmentProtectionRules)
    .innerJoin(projects, eq(projects.id, environmentProtectionRules.projectId))
    .innerJoin(organizations, eq(organizations.id, environmentProtectionRules.organizationId))
    .where(
      or(
        ...wanted.map(([organization, project, pattern]) =>
          and(eq(organizations.name, organization!), eq(projects.name, project!), eq(environmentProtectionRules.environmentPattern, pattern!)),
        ),
      ),
    );
  return new Map(rows.map((row) => [`${row.organizationName}/${row.projectName}/${row.pattern}`, row.id]));
}

/** Replaces the principals of a rule (its pattern is what it is: delete it and create another). */
export async function updateProtectionRule(
  db: HttpDatabase,
  caller: Caller,
  id: string,
  input: { principals: PrincipalsInput; version?: number },
): Promise<ProtectionRuleView> {
  const rule = await load(db, id);
  const principal = authorize(caller, 'environment:manage', { organizationId: rule.organizationId, projectId: rule.projectId }, 'Environment protection rule');
  const principals = await resolvePrincipals(db, rule.organizationId, input.principals, { allowRoles: true });
  await versionedChange<ProtectionRuleView, { id: string }>(db, {
    ...versionedRule(db, rule),
    expectedVersion: input.version,
    change: (atVersion) =>
      db
        .update(environmentProtectionRules)
        .set({ ...principals, updatedAt: new Date(), version: sql`${environmentProtectionRules.version} + 1` })
        .where(atVersion)
        .returning({ id: environmentProtectionRules.id }),
    activity: (current) => ({
      initiator: principal,
      event: {
        action: 'update',
        targetType: 'environment_protection_rule',
        targetId: id,
        targetPrn: current.prn,
        organizationId: current.organizationId,
        projectId: current.projectId,
        payload: {
          principals: {
            old: { userIds: current.userIds, teamIds: current.teamIds, serviceAccountIds: current.serviceAccountIds, roleNames: current.roleNames },
            new: principals,
          },
        },
      },
    }),
  });
  return load(db, id);
}

/** Deletes a rule; returns what it was. */
export async function deleteProtectionRule(db: HttpDatabase, caller: Caller, id: string, input: { version?: number } = {}): Promise<ProtectionRuleView> {
  const rule = await load(db, id);
  const principal = authorize(caller, 'environment:manage', { organizationId: rule.organizationId, projectId: rule.projectId }, 'Environment protection rule');
  const deleted = await versionedChange<ProtectionRuleView, EnvironmentProtectionRule>(db, {
    ...versionedRule(db, rule),
    expectedVersion: input.version,
    change: (atVersion) => db.delete(environmentProtectionRules).where(atVersion).returning(),
    activity: (current) => ({
      initiator: principal,
      event: {
        action: 'delete',
        targetType: 'environment_protection_rule',
        targetId: id,
        targetPrn: current.prn,
        organizationId: current.organizationId,
        projectId: current.projectId,
        payload: { environmentPattern: current.environmentPattern },
      },
    }),
  });
  return { ...rule, ...deleted };
}

/** What every versioned change of a rule shares. */
function versionedRule(db: HttpDatabase, rule: ProtectionRuleView) {
  return {
    table: environmentProtectionRules,
    what: `Protection rule ${rule.environmentPattern}`,
    notFoundAs: 'Environment protection rule',
    current: rule,
    reload: () => find(db, rule.id),
  };
}
