// Agents as their owners manage them: organization agents (agent:manage in the organization) and
// shared agents (system admins), with name, description, tags, runUntaggedJobs, disabled and
// concurrencyLimit. A name is fixed once created, since the agent's PRN (prn:agent:<org>/<name>,
// prn:agent:<name> for a shared agent) names it. Agents the configuration declares (internal) are
// kept in step with it on start, so the API refuses to change or delete them. Creating an
// organization agent counts against ResourceLimitAgentsPerOrganization in the insert's transaction.
// Who may see what is decided in access.ts; sessions, routing and the queue live beside this file.
import { and, asc, count, desc, eq, getTableColumns, gt, inArray, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import { authorize, installation, type Caller } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { rethrowConflict } from '../../db/postgres-errors';
import { agents, organizations, type AgentRow } from '../../db/schema';
import { AppError, badInput, notFound } from '../../errors';
import { recordActivity } from '../activity/record';
import { forgetRoutingCandidates } from '../jobs/route-at-commit';
import { isUuid, wellFormedIds } from '../ids';
import { validateDescription, validateName } from '../names';
import { prnOf } from '../prn';
import type { ListPage } from '../resource-limits/service';
import { insertWithinLimit, withinLimit } from '../resource-limits/within-limit';
import { versionedChange } from '../versioned-update';
import { authorizeAgent, mayViewAgent, maySeeSharedAgents } from './access';
import { validateAgentTags, validateConcurrencyLimit } from './settings';

export const agentTypes = ['ORGANIZATION', 'SHARED'] as const;
export type AgentType = (typeof agentTypes)[number];

/** An agent with its organization's name (null when shared), its PRN and the service accounts assigned to it. */
export type AgentView = AgentRow & { organizationName: string | null; prn: string; serviceAccountIds: string[] };

const agentsLimit = 'ResourceLimitAgentsPerOrganization';

function agentPrn(organizationName: string | null, name: string): string {
  return organizationName === null ? prnOf('agent', name) : prnOf('agent', organizationName, name);
}

export const agentTypeOf = (agent: Pick<AgentRow, 'organizationId'>): AgentType => (agent.organizationId === null ? 'SHARED' : 'ORGANIZATION');

function selectViews(db: HttpDatabase) {
  return db
    .select({
      ...getTableColumns(agents),
      organizationName: organizations.name,
      serviceAccountIds: sql<
        string[]
      >`array(select service_account_id::text from agent_service_accounts where agent_id = ${agents.id} order by created_at, service_account_id)`,
    })
    .from(agents)
    .leftJoin(organizations, eq(organizations.id, agents.organizationId));
}

type Selected = Awaited<ReturnType<ReturnType<typeof selectViews>['execute']>>[number];

const viewOf = (row: Selected): AgentView => ({ ...row, prn: agentPrn(row.organizationName, row.name) });

async function find(db: HttpDatabase, id: string): Promise<AgentView | undefined> {
  if (!isUuid(id)) return undefined;
  const [row] = await selectViews(db).where(eq(agents.id, id));
  return row ? viewOf(row) : undefined;
}

/** An agent by id, or NOT_FOUND; authorize it before showing or changing anything. */
export async function loadAgent(db: HttpDatabase, id: string): Promise<AgentView> {
  const agent = await find(db, id);
  if (!agent) throw notFound('Agent');
  return agent;
}

/** Internal agents follow the configuration: a change made here would be undone on the next start. */
export function refuseInternal(agent: Pick<AgentRow, 'internal' | 'name'>): void {
  if (agent.internal) {
    throw new AppError(
      'FORBIDDEN',
      `Agent ${agent.name} is internal: the configuration (PHOBOS_INTERNAL_AGENTS_<n>_*) declares it, and only a change there changes it`,
    );
  }
}

export interface CreateAgentInput {
  type: AgentType;
  /** Required for an organization agent; never given for a shared one. */
  organizationId?: string;
  name: string;
  description?: string;
  tags?: string[];
  runUntaggedJobs?: boolean;
  disabled?: boolean;
  concurrencyLimit?: number;
}

/** The organization an agent is created in, with its name; NOT_FOUND once authorized if there is none. */
async function placeOf(db: HttpDatabase, caller: Caller, input: CreateAgentInput) {
  if (input.type === 'SHARED') {
    const principal = authorize(caller, 'shared_agent:manage', installation);
    if (input.organizationId !== undefined) throw badInput('organizationId', 'must not be given for a shared agent: it serves every organization');
    return { principal, organizationId: null, organizationName: null };
  }
  if (input.type !== 'ORGANIZATION') throw badInput('type', `must be one of ${agentTypes.join(', ')}`);
  if (input.organizationId === undefined) throw badInput('organizationId', 'is required for an organization agent');
  const principal = authorize(caller, 'agent:manage', { organizationId: input.organizationId });
  if (!isUuid(input.organizationId)) throw notFound('Organization');
  const [organization] = await db.select({ name: organizations.name }).from(organizations).where(eq(organizations.id, input.organizationId));
  if (!organization) throw notFound('Organization');
  return { principal, organizationId: input.organizationId, organizationName: organization.name };
}

export async function createAgent(db: HttpDatabase, caller: Caller, input: CreateAgentInput): Promise<AgentView> {
  const { principal, organizationId, organizationName } = await placeOf(db, caller, input);
  const name = validateName('name', input.name);
  const description = validateDescription(input.description);
  const tags = validateAgentTags(input.tags ?? []);
  const runUntaggedJobs = input.runUntaggedJobs ?? true;
  const disabled = input.disabled ?? false;
  const concurrencyLimit = validateConcurrencyLimit(input.concurrencyLimit ?? 10);
  const createdBy = principal.kind === 'user' ? principal.userId : null;
  // The id is chosen here so the activity event names it in the same transaction.
  const id = crypto.randomUUID();
  const insert = sql`
    insert into agents (id, organization_id, name, description, tags, run_untagged_jobs, disabled, concurrency_limit, created_by)
    select ${id}, ${organizationId}, ${name}, ${description}, ${sql.param(tags)}::text[], ${runUntaggedJobs}, ${disabled}, ${concurrencyLimit}, ${createdBy}`;
  const event = recordActivity(
    db,
    principal,
    {
      action: 'create',
      targetType: 'agent',
      targetId: id,
      targetPrn: agentPrn(organizationName, name),
      organizationId,
      payload: { name, type: input.type, tags, runUntaggedJobs, disabled, concurrencyLimit },
    },
    sql`exists (select 1 from agents where id = ${id})`,
  );
  try {
    if (organizationId === null) {
      await db.batch([db.execute(insert), event]);
    } else {
      await insertWithinLimit<{ id: string }>(db, {
        limitName: agentsLimit,
        lockKey: `agents:${organizationId}`,
        statement: sql`${insert} where ${withinLimit(agentsLimit, sql`select count(*) from agents where organization_id = ${organizationId}`)} returning id`,
        after: [event],
      });
    }
  } catch (error) {
    const [constraint, where] =
      organizationId === null ? ['agents_shared_name_key', 'among shared agents'] : ['agents_organization_name_key', 'in this organization'];
    rethrowConflict(error, constraint, 'name', `An agent named ${name} already exists ${where}`);
  }
  return loadAgent(db, id);
}

/** A page of an organization's agents by name (unique there, so it is the keyset), with how many there are. */
export async function pageOrganizationAgents(
  db: HttpDatabase,
  caller: Caller,
  organizationId: string,
  page: ListPage,
): Promise<{ rows: AgentView[]; totalCount: number }> {
  authorize(caller, 'agent:view', { organizationId });
  return pageAgents(db, eq(agents.organizationId, organizationId), page);
}

/** A page of the shared agents by name; system admins only. */
export async function pageSharedAgents(db: HttpDatabase, caller: Caller, page: ListPage): Promise<{ rows: AgentView[]; totalCount: number }> {
  authorize(caller, 'shared_agent:view', installation);
  return pageAgents(db, isNull(agents.organizationId), page);
}

async function pageAgents(db: HttpDatabase, scope: SQL, page: ListPage): Promise<{ rows: AgentView[]; totalCount: number }> {
  const conditions: SQL[] = [scope];
  if (page.after !== undefined) conditions.push(gt(agents.name, page.after));
  if (page.before !== undefined) conditions.push(lt(agents.name, page.before));
  const [rows, [total]] = await db.batch([
    selectViews(db)
      .where(and(...conditions))
      .orderBy(page.inverted ? desc(agents.name) : asc(agents.name))
      .limit(page.limit),
    db.select({ value: count() }).from(agents).where(scope),
  ]);
  return { rows: rows.map(viewOf), totalCount: total?.value ?? 0 };
}

/** The agents with these ids that the caller may see, in one query; the rest are not found. */
export async function agentsByIds(db: HttpDatabase, caller: Caller, ids: readonly string[]): Promise<AgentView[]> {
  const wellFormed = wellFormedIds(ids);
  if (wellFormed.length === 0) return [];
  const rows = await selectViews(db).where(inArray(agents.id, wellFormed));
  // Decided once per request rather than per row: shared agents are all visible or none are.
  const shared = maySeeSharedAgents(caller);
  return rows.filter((row) => (row.organizationId === null ? shared : mayViewAgent(caller, row))).map(viewOf);
}

/**
 * The ids of the agents at these PRN paths, keyed by path, in one query: `<organization>/<name>`
 * an organization agent, `<name>` a shared one. Reveals nothing by itself: whoever uses an id is
 * authorized as for any other.
 */
export async function agentIdsByPath(db: HttpDatabase, paths: readonly string[][]): Promise<Map<string, string>> {
  const conditions = paths.flatMap((path) => {
    if (path.length === 1) return [and(isNull(agents.organizationId), eq(agents.name, path[0]!))!];
    if (path.length === 2) return [and(eq(organizations.name, path[0]!), eq(agents.name, path[1]!))!];
    return [];
  });
  if (conditions.length === 0) return new Map();
  const rows = await db
    .select({ id: agents.id, name: agents.name, organizationName: organizations.name })
    .from(agents)
    .leftJoin(organizations, eq(organizations.id, agents.organizationId))
    .where(or(...conditions));
  return new Map(rows.map((row) => [row.organizationName === null ? row.name : `${row.organizationName}/${row.name}`, row.id]));
}

export interface UpdateAgentInput {
  description?: string;
  tags?: string[];
  runUntaggedJobs?: boolean;
  disabled?: boolean;
  concurrencyLimit?: number;
  version?: number;
}

const settingsOf = (agent: AgentRow) => ({
  description: agent.description,
  tags: agent.tags,
  runUntaggedJobs: agent.runUntaggedJobs,
  disabled: agent.disabled,
  concurrencyLimit: agent.concurrencyLimit,
});

export async function updateAgent(db: HttpDatabase, caller: Caller, id: string, input: UpdateAgentInput): Promise<AgentView> {
  const agent = await loadAgent(db, id);
  const principal = authorizeAgent(caller, agent, 'manage');
  refuseInternal(agent);
  // Bad input is refused before anything is written; what is not given stays as the agent has it
  // when the change is made (an unversioned change may be retried on a newer row).
  const given = {
    description: input.description === undefined ? undefined : validateDescription(input.description),
    tags: input.tags === undefined ? undefined : validateAgentTags(input.tags),
    runUntaggedJobs: input.runUntaggedJobs,
    disabled: input.disabled,
    concurrencyLimit: input.concurrencyLimit === undefined ? undefined : validateConcurrencyLimit(input.concurrencyLimit),
  };
  const changedFrom = (current: AgentRow) => {
    const old = settingsOf(current);
    return {
      description: given.description ?? old.description,
      tags: given.tags ?? old.tags,
      runUntaggedJobs: given.runUntaggedJobs ?? old.runUntaggedJobs,
      disabled: given.disabled ?? old.disabled,
      concurrencyLimit: given.concurrencyLimit ?? old.concurrencyLimit,
    };
  };
  await versionedChange<AgentView, { id: string }>(db, {
    ...versionedAgent(db, agent),
    expectedVersion: input.version,
    change: (atVersion, current) => {
      const next = changedFrom(current);
      return db
        .update(agents)
        .set({ ...next, updatedAt: new Date(), version: sql`${agents.version} + 1` })
        .where(atVersion)
        .returning({ id: agents.id });
    },
    activity: (current) => ({
      initiator: principal,
      event: {
        action: 'update',
        targetType: 'agent',
        targetId: id,
        targetPrn: current.prn,
        organizationId: current.organizationId,
        payload: { old: settingsOf(current), new: changedFrom(current) },
      },
    }),
  });
  // Its tags, its taking untagged jobs or its being enabled may have changed: routing reads it again.
  forgetRoutingCandidates();
  return loadAgent(db, id);
}

/** Jobs an agent's sessions hold now: deleting the agent under them would leave their leases nowhere. */
const heldJobStatuses = sql`('PENDING', 'RUNNING', 'CANCELING')`;

/**
 * Deletes an agent with its sessions and service account assignments; returns what it was. Refused
 * while its sessions hold jobs (disable it first, so it takes no more, and delete it once they have
 * ended); jobs only queued for it are routed elsewhere.
 */
export async function deleteAgent(db: HttpDatabase, caller: Caller, id: string, input: { version?: number } = {}): Promise<AgentView> {
  const agent = await loadAgent(db, id);
  const principal = authorizeAgent(caller, agent, 'manage');
  refuseInternal(agent);
  const deleted = await versionedChange<AgentView, AgentRow>(db, {
    ...versionedAgent(db, agent),
    expectedVersion: input.version,
    change: (atVersion) => db.delete(agents).where(atVersion).returning(),
    guard: {
      // The agent's row, locked first: the check and the delete see the same jobs.
      lock: db.execute(sql`select 1 from agents where id = ${id} for update`),
      breaks: sql`exists (select 1 from jobs where agent_id = ${id} and status in ${heldJobStatuses})`,
      refusal: () => new AppError('CONFLICT', `Agent ${agent.name} holds jobs in progress: disable it, and delete it once they have ended`),
    },
    activity: (current) => ({
      initiator: principal,
      event: {
        action: 'delete',
        targetType: 'agent',
        targetId: id,
        targetPrn: current.prn,
        organizationId: current.organizationId,
        payload: { name: current.name, type: agentTypeOf(current) },
      },
    }),
  });
  forgetRoutingCandidates();
  return { ...agent, ...deleted };
}

/** What every versioned change of an agent shares. */
function versionedAgent(db: HttpDatabase, agent: AgentView) {
  return {
    table: agents,
    what: `Agent ${agent.name}`,
    notFoundAs: 'Agent',
    current: agent,
    reload: () => find(db, agent.id),
  };
}
