// Approval rules: which users, teams and service accounts may approve, and how many approvals are
// required (1 to the number of principals named). Organization-level rules live in the organization,
// project-level ones in one project; templates refer to them by PRN (approvalRuleByPrn). Managed with
// approval_rule:manage, read with approval_rule:view; creating one counts against
// ResourceLimitApprovalRulesPerOrganization (rules of its projects included) in the insert's
// transaction. A rule's name is fixed: templates name it.
import { and, asc, eq, getTableColumns, inArray, isNull, or, sql, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { authorize, isAllowed, type Caller, type OrganizationTarget } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { rethrowConflict } from '../../db/postgres-errors';
import { approvalRules, organizations, projects, type ApprovalRule } from '../../db/schema';
import { badInput, notFound } from '../../errors';
import { recordActivity } from '../activity/record';
import { isUuid, wellFormedIds } from '../ids';
import { validateDescription, validateName } from '../names';
import { prnOf } from '../prn';
import { insertWithinLimit, withinLimit } from '../resource-limits/within-limit';
import { versionedChange } from '../versioned-update';
import { principalCount, resolvePrincipals, type PrincipalsInput, type StoredPrincipals } from './principals';

/** A rule with its PRN and its teams' names. */
export type ApprovalRuleView = ApprovalRule & { prn: string; teamNames: string[] };

const limitName = 'ResourceLimitApprovalRulesPerOrganization';
const ruleProject = alias(projects, 'rule_project');

function approvalRulePrn(organizationName: string, projectName: string | null, name: string): string {
  return projectName === null ? prnOf('approval_rule', organizationName, name) : prnOf('approval_rule', organizationName, projectName, name);
}

function selectViews(db: HttpDatabase) {
  return db
    .select({
      ...getTableColumns(approvalRules),
      organizationName: organizations.name,
      projectName: ruleProject.name,
      // Names of the rule's teams as they are now (a renamed team stays on the rule); a deleted team drops out.
      teamNames: sql<string[]>`array(select name from teams where id = any(${approvalRules.teamIds}) order by name)`,
    })
    .from(approvalRules)
    .innerJoin(organizations, eq(organizations.id, approvalRules.organizationId))
    .leftJoin(ruleProject, eq(ruleProject.id, approvalRules.projectId));
}

type Selected = Awaited<ReturnType<ReturnType<typeof selectViews>['execute']>>[number];

function viewOf({ organizationName, projectName, ...rule }: Selected): ApprovalRuleView {
  return { ...rule, prn: approvalRulePrn(organizationName, projectName, rule.name) };
}

function targetOf(rule: Pick<ApprovalRule, 'organizationId' | 'projectId'>): OrganizationTarget {
  return rule.projectId ? { organizationId: rule.organizationId, projectId: rule.projectId } : { organizationId: rule.organizationId };
}

async function find(db: HttpDatabase, id: string): Promise<ApprovalRuleView | undefined> {
  const [row] = await selectViews(db).where(eq(approvalRules.id, id));
  return row ? viewOf(row) : undefined;
}

async function load(db: HttpDatabase, id: string): Promise<ApprovalRuleView> {
  const rule = await find(db, id);
  if (!rule) throw notFound('Approval rule');
  return rule;
}

function validateApprovalsRequired(value: number, principals: StoredPrincipals): number {
  const count = principalCount(principals);
  if (!Number.isSafeInteger(value) || value < 1 || value > count) {
    throw badInput('approvalsRequired', `must be between 1 and ${count}, the number of principals named`);
  }
  return value;
}

export interface CreateApprovalRuleInput {
  organizationId: string;
  /** Set for a rule of one project. */
  projectId?: string;
  name: string;
  description?: string;
  approvalsRequired: number;
  principals: PrincipalsInput;
}

export async function createApprovalRule(db: HttpDatabase, caller: Caller, input: CreateApprovalRuleInput): Promise<ApprovalRuleView> {
  const target = input.projectId ? { organizationId: input.organizationId, projectId: input.projectId } : { organizationId: input.organizationId };
  const principal = authorize(caller, 'approval_rule:manage', target);
  if (!isUuid(input.organizationId)) throw notFound('Organization');
  if (input.projectId !== undefined && !isUuid(input.projectId)) throw notFound('Project');
  const [scope] = await db
    .select({ organizationName: organizations.name, projectName: ruleProject.name })
    .from(organizations)
    .leftJoin(ruleProject, and(eq(ruleProject.id, input.projectId ?? sql`null`), eq(ruleProject.organizationId, organizations.id)))
    .where(eq(organizations.id, input.organizationId));
  if (!scope) throw notFound('Organization');
  // A project of another organization is not this organization's: not found.
  if (input.projectId && scope.projectName === null) throw notFound('Project');
  const name = validateName('name', input.name);
  const description = validateDescription(input.description);
  const principals = await resolvePrincipals(db, input.organizationId, input.principals, { allowRoles: false });
  const approvalsRequired = validateApprovalsRequired(input.approvalsRequired, principals);
  const prn = approvalRulePrn(scope.organizationName, scope.projectName, name);
  const id = crypto.randomUUID();
  try {
    await insertWithinLimit<{ id: string }>(db, {
      limitName,
      lockKey: `approval_rules:${input.organizationId}`,
      statement: sql`
        insert into approval_rules (id, organization_id, project_id, name, description, approvals_required, user_ids, team_ids, service_account_ids)
        select ${id}, ${input.organizationId}, ${input.projectId ?? null}, ${name}, ${description}, ${approvalsRequired},
          ${sql.param(principals.userIds)}::uuid[], ${sql.param(principals.teamIds)}::uuid[], ${sql.param(principals.serviceAccountIds)}::uuid[]
        where ${withinLimit(limitName, sql`select count(*) from approval_rules where organization_id = ${input.organizationId}`)}
        returning id`,
      after: [
        recordActivity(
          db,
          principal,
          {
            action: 'create',
            targetType: 'approval_rule',
            targetId: id,
            targetPrn: prn,
            organizationId: input.organizationId,
            projectId: input.projectId ?? null,
            payload: {
              name,
              approvalsRequired,
              principals: { userIds: principals.userIds, teamIds: principals.teamIds, serviceAccountIds: principals.serviceAccountIds },
            },
          },
          sql`exists (select 1 from approval_rules where id = ${id})`,
        ),
      ],
    });
  } catch (error) {
    rethrowConflict(error, 'approval_rules_scope_name_key', 'name', `An approval rule named ${name} already exists here`);
  }
  return load(db, id);
}

/** Organization-level rules of an organization, or the rules of one project (projectId set), by name. */
export async function listApprovalRules(db: HttpDatabase, caller: Caller, scope: { organizationId: string; projectId?: string }): Promise<ApprovalRuleView[]> {
  authorize(
    caller,
    'approval_rule:view',
    scope.projectId ? { organizationId: scope.organizationId, projectId: scope.projectId } : { organizationId: scope.organizationId },
  );
  const inScope: SQL | undefined = scope.projectId
    ? and(eq(approvalRules.organizationId, scope.organizationId), eq(approvalRules.projectId, scope.projectId))
    : and(eq(approvalRules.organizationId, scope.organizationId), isNull(approvalRules.projectId));
  const rows = await selectViews(db).where(inScope).orderBy(asc(approvalRules.name));
  return rows.map(viewOf);
}

/** The rules with these ids that the caller may see, in one query; the rest are not found. */
export async function approvalRulesByIds(db: HttpDatabase, caller: Caller, ids: readonly string[]): Promise<ApprovalRuleView[]> {
  const wellFormed = wellFormedIds(ids);
  if (wellFormed.length === 0) return [];
  const rows = await selectViews(db).where(inArray(approvalRules.id, wellFormed));
  return rows.filter((row) => isAllowed(caller, 'approval_rule:view', targetOf(row))).map(viewOf);
}

/**
 * Where a rule's PRN path points: `<organization>/<name>` an organization-level rule,
 * `<organization>/<project>/<name>` a project's.
 */
function atPath(path: readonly string[]): SQL | undefined {
  if (path.length === 2) return and(eq(organizations.name, path[0]!), isNull(approvalRules.projectId), eq(approvalRules.name, path[1]!));
  if (path.length === 3) return and(eq(organizations.name, path[0]!), eq(ruleProject.name, path[1]!), eq(approvalRules.name, path[2]!));
  return undefined;
}

/** The ids of the rules at these PRN paths, in one query, keyed by path. */
export async function approvalRuleIdsByPath(db: HttpDatabase, paths: readonly string[][]): Promise<Map<string, string>> {
  const conditions = paths.map(atPath).filter((condition) => condition !== undefined);
  if (conditions.length === 0) return new Map();
  const rows = await selectViews(db).where(or(...conditions));
  return new Map(rows.map((row) => [viewOf(row).prn.slice('prn:approval_rule:'.length), row.id]));
}

const prnShape = /^prn:approval_rule:([^/]+)\/(?:([^/]+)\/)?([^/]+)$/;

/**
 * The rule a PRN names — `prn:approval_rule:<org>/<name>` (organization level) or
 * `prn:approval_rule:<org>/<project>/<name>` — as the caller may see it; what it may not see is not found.
 */
export async function approvalRuleByPrn(db: HttpDatabase, caller: Caller, prn: string): Promise<ApprovalRuleView> {
  const match = prnShape.exec(prn.trim());
  if (!match) throw badInput('prn', 'must be prn:approval_rule:<organization>/<name> or prn:approval_rule:<organization>/<project>/<name>');
  const [, organizationName, projectName, name] = match as unknown as [string, string, string | undefined, string];
  const [row] = await selectViews(db).where(
    and(
      eq(organizations.name, organizationName),
      eq(approvalRules.name, name),
      projectName === undefined ? isNull(approvalRules.projectId) : eq(ruleProject.name, projectName),
    ),
  );
  if (!row) throw notFound('Approval rule');
  authorize(caller, 'approval_rule:view', targetOf(row), 'Approval rule');
  return viewOf(row);
}

export interface UpdateApprovalRuleInput {
  description?: string;
  approvalsRequired?: number;
  /** Replaces the rule's principals when given. */
  principals?: PrincipalsInput;
  version?: number;
}

export async function updateApprovalRule(db: HttpDatabase, caller: Caller, id: string, input: UpdateApprovalRuleInput): Promise<ApprovalRuleView> {
  const rule = await load(db, id);
  const principal = authorize(caller, 'approval_rule:manage', targetOf(rule), 'Approval rule');
  const description = input.description === undefined ? undefined : validateDescription(input.description);
  const principals = input.principals ? await resolvePrincipals(db, rule.organizationId, input.principals, { allowRoles: false }) : undefined;
  // What is not given stays as the rule has it when the change is made (an unversioned change may be retried on a newer rule).
  const changedFrom = (current: ApprovalRuleView) => {
    const kept = principals ?? { userIds: current.userIds, teamIds: current.teamIds, serviceAccountIds: current.serviceAccountIds, roleNames: [] };
    return {
      description: description === undefined ? current.description : description,
      approvalsRequired: validateApprovalsRequired(input.approvalsRequired ?? current.approvalsRequired, kept),
      userIds: kept.userIds,
      teamIds: kept.teamIds,
      serviceAccountIds: kept.serviceAccountIds,
    };
  };
  // Bad input is refused before anything is written.
  changedFrom(rule);
  await versionedChange<ApprovalRuleView, { id: string }>(db, {
    ...versionedRule(db, rule),
    expectedVersion: input.version,
    change: (atVersion, current) =>
      db
        .update(approvalRules)
        .set({ ...changedFrom(current), updatedAt: new Date(), version: sql`${approvalRules.version} + 1` })
        .where(atVersion)
        .returning({ id: approvalRules.id }),
    activity: (current) => ({
      initiator: principal,
      event: {
        action: 'update',
        targetType: 'approval_rule',
        targetId: id,
        targetPrn: current.prn,
        organizationId: current.organizationId,
        projectId: current.projectId,
        payload: {
          old: {
            description: current.description,
            approvalsRequired: current.approvalsRequired,
            userIds: current.userIds,
            teamIds: current.teamIds,
            serviceAccountIds: current.serviceAccountIds,
          },
          new: changedFrom(current),
        },
      },
    }),
  });
  return load(db, id);
}

/** Deletes a rule; returns what it was. */
export async function deleteApprovalRule(db: HttpDatabase, caller: Caller, id: string, input: { version?: number } = {}): Promise<ApprovalRuleView> {
  const rule = await load(db, id);
  const principal = authorize(caller, 'approval_rule:manage', targetOf(rule), 'Approval rule');
  const deleted = await versionedChange<ApprovalRuleView, ApprovalRule>(db, {
    ...versionedRule(db, rule),
    expectedVersion: input.version,
    change: (atVersion) => db.delete(approvalRules).where(atVersion).returning(),
    activity: (current) => ({
      initiator: principal,
      event: {
        action: 'delete',
        targetType: 'approval_rule',
        targetId: id,
        targetPrn: current.prn,
        organizationId: current.organizationId,
        projectId: current.projectId,
        payload: { name: current.name },
      },
    }),
  });
  return { ...rule, ...deleted };
}

/** What every versioned change of a rule shares. */
function versionedRule(db: HttpDatabase, rule: ApprovalRuleView) {
  return {
    table: approvalRules,
    what: `Approval rule ${rule.name}`,
    notFoundAs: 'Approval rule',
    current: rule,
    reload: () => find(db, rule.id),
  };
}
