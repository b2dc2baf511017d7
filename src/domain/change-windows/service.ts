// Change windows (when deployments may or may not start, per environment or organization-wide) and
// an organization's "stop the line". Managed with environment:manage (owners and release managers)
// on the environment's project or, organization-wide, on the organization; read with
// environment:view. The deployment gate (pipelines/deployment-gate.ts) reads them when a deployment
// is about to start; removing a window or lifting the stop moves the waiting deployments on at once.
import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm';
import { authorize, isAllowed, type Caller } from '../../auth/rbac';
import type { AuthenticatedPrincipal } from '../../auth/principal';
import type { HttpDatabase } from '../../db/client';
import { changeWindows, deploymentStops, environments, organizations, type ChangeWindowRow, type DeploymentStopRow } from '../../db/schema';
import { AppError, badInput, notFound } from '../../errors';
import { recordActivity } from '../activity/record';
import { isUuid, wellFormedIds } from '../ids';
import { validateName } from '../names';
import { moveQueuesOn } from '../pipelines/deployment-queue';
import type { EngineConfig } from '../pipelines/secrets';
import { isTimeZone } from './schedule';

export type ChangeWindowView = ChangeWindowRow;

export interface CreateChangeWindowInput {
  /** Exactly one: the environment's window, or one for every environment of the organization. */
  environmentId?: string;
  organizationId?: string;
  name: string;
  kind: 'ALLOW' | 'DENY';
  recurrence: 'WEEKLY' | 'ONCE';
  /** WEEKLY: ISO days, 1 Monday … 7 Sunday. */
  daysOfWeek?: number[];
  startTime?: string;
  endTime?: string;
  timeZone?: string;
  /** ONCE. */
  startsAt?: Date;
  endsAt?: Date;
}

interface Scope {
  organizationId: string;
  projectId: string | null;
  environmentId: string | null;
}

const scopeTarget = (scope: Pick<Scope, 'organizationId' | 'projectId'>) =>
  scope.projectId ? { organizationId: scope.organizationId, projectId: scope.projectId } : { organizationId: scope.organizationId };

const principalName = (principal: AuthenticatedPrincipal) => (principal.kind === 'user' ? principal.username : principal.name);

async function scopeOf(db: HttpDatabase, input: { environmentId?: string; organizationId?: string }): Promise<Scope> {
  if ((input.environmentId === undefined) === (input.organizationId === undefined)) {
    throw badInput('environmentId', 'give exactly one of environmentId and organizationId');
  }
  if (input.environmentId !== undefined) {
    if (!isUuid(input.environmentId)) throw notFound('Environment');
    const [environment] = await db
      .select({ organizationId: environments.organizationId, projectId: environments.projectId })
      .from(environments)
      .where(and(eq(environments.id, input.environmentId), isNull(environments.deletedAt)));
    if (!environment) throw notFound('Environment');
    return { ...environment, environmentId: input.environmentId };
  }
  if (!isUuid(input.organizationId!)) throw notFound('Organization');
  return { organizationId: input.organizationId!, projectId: null, environmentId: null };
}

const timeOfDay = /^([01]\d|2[0-3]):[0-5]\d$/;

function validateSchedule(input: CreateChangeWindowInput): Pick<ChangeWindowRow, 'daysOfWeek' | 'startTime' | 'endTime' | 'timeZone' | 'startsAt' | 'endsAt'> {
  if (input.recurrence === 'WEEKLY') {
    const days = input.daysOfWeek ?? [];
    if (days.length === 0) throw badInput('daysOfWeek', 'a weekly window needs at least one day');
    if (days.some((day) => !Number.isInteger(day) || day < 1 || day > 7)) throw badInput('daysOfWeek', 'days are 1 (Monday) to 7 (Sunday)');
    if (new Set(days).size !== days.length) throw badInput('daysOfWeek', 'each day at most once');
    for (const field of ['startTime', 'endTime'] as const) {
      if (input[field] === undefined || !timeOfDay.test(input[field])) throw badInput(field, 'must be a time of day HH:MM (00:00 to 23:59)');
    }
    if (input.startTime === input.endTime) throw badInput('endTime', 'must differ from startTime (a window ending before it starts closes the next day)');
    if (input.timeZone === undefined || !isTimeZone(input.timeZone)) throw badInput('timeZone', 'must be an IANA time zone such as Europe/Berlin');
    if (input.startsAt !== undefined || input.endsAt !== undefined) throw badInput('startsAt', 'only a ONCE window has startsAt and endsAt');
    return {
      daysOfWeek: [...days].sort(),
      startTime: input.startTime!,
      endTime: input.endTime!,
      timeZone: input.timeZone,
      startsAt: null,
      endsAt: null,
    };
  }
  if (input.recurrence !== 'ONCE') throw badInput('recurrence', 'must be WEEKLY or ONCE');
  if (input.startsAt === undefined || Number.isNaN(input.startsAt.getTime())) throw badInput('startsAt', 'required for a ONCE window');
  if (input.endsAt === undefined || Number.isNaN(input.endsAt.getTime())) throw badInput('endsAt', 'required for a ONCE window');
  if (input.endsAt <= input.startsAt) throw badInput('endsAt', 'must be after startsAt');
  if (input.daysOfWeek !== undefined || input.startTime !== undefined || input.endTime !== undefined || input.timeZone !== undefined) {
    throw badInput('daysOfWeek', 'only a WEEKLY window has daysOfWeek, startTime, endTime and timeZone');
  }
  return { daysOfWeek: [], startTime: null, endTime: null, timeZone: null, startsAt: input.startsAt, endsAt: input.endsAt };
}

export async function createChangeWindow(db: HttpDatabase, caller: Caller, input: CreateChangeWindowInput): Promise<ChangeWindowView> {
  const scope = await scopeOf(db, input);
  const principal = authorize(caller, 'environment:manage', scopeTarget(scope), scope.environmentId ? 'Environment' : 'Organization');
  const name = validateName('name', input.name);
  if (input.kind !== 'ALLOW' && input.kind !== 'DENY') throw badInput('kind', 'must be ALLOW or DENY');
  const schedule = validateSchedule(input);
  const row: ChangeWindowRow = {
    id: crypto.randomUUID(),
    ...scope,
    name,
    kind: input.kind,
    recurrence: input.recurrence,
    ...schedule,
    createdBy: principalName(principal),
    createdAt: new Date(),
  };
  await db.batch([
    db.insert(changeWindows).values(row),
    recordActivity(db, principal, {
      action: 'create',
      targetType: 'change_window',
      targetId: row.id,
      organizationId: scope.organizationId,
      projectId: scope.projectId,
      payload: { name, kind: row.kind, recurrence: row.recurrence, environmentId: scope.environmentId },
    }),
  ]);
  return row;
}

/** Windows of one environment, or the organization-wide ones (environmentId null), by name. */
export async function listChangeWindows(db: HttpDatabase, caller: Caller, scope: Scope): Promise<ChangeWindowView[]> {
  authorize(caller, 'environment:view', scopeTarget(scope));
  return db
    .select()
    .from(changeWindows)
    .where(
      and(
        eq(changeWindows.organizationId, scope.organizationId),
        scope.environmentId ? eq(changeWindows.environmentId, scope.environmentId) : isNull(changeWindows.environmentId),
      ),
    )
    .orderBy(asc(changeWindows.name), asc(changeWindows.id));
}

/** Deletes a window; deployments it held are asked again at once. */
export async function deleteChangeWindow(db: HttpDatabase, config: EngineConfig, caller: Caller, input: { id: string }): Promise<ChangeWindowView> {
  if (!isUuid(input.id)) throw notFound('Change window');
  const [row] = await db.select().from(changeWindows).where(eq(changeWindows.id, input.id));
  if (!row) throw notFound('Change window');
  const principal = authorize(caller, 'environment:manage', scopeTarget(row), 'Change window');
  const [deleted] = await db.batch([
    db.delete(changeWindows).where(eq(changeWindows.id, row.id)).returning({ id: changeWindows.id }),
    recordActivity(
      db,
      principal,
      {
        action: 'delete',
        targetType: 'change_window',
        targetId: row.id,
        organizationId: row.organizationId,
        projectId: row.projectId,
        payload: { name: row.name, kind: row.kind },
      },
      sql`not exists (select 1 from change_windows where id = ${row.id})`,
    ),
  ]);
  if (deleted.length === 0) throw notFound('Change window');
  await moveQueuesOn(db, config, new Date(), row.projectId ? { projectId: row.projectId } : { organizationId: row.organizationId });
  return row;
}

export type DeploymentStopView = DeploymentStopRow;

/** The organization's stop, if the line is stopped. */
export async function deploymentStopOf(db: HttpDatabase, caller: Caller, organizationId: string): Promise<DeploymentStopView | null> {
  authorize(caller, 'environment:view', { organizationId });
  const [stop] = await db.select().from(deploymentStops).where(eq(deploymentStops.organizationId, organizationId));
  return stop ?? null;
}

/** Stops the line: no deployment of the organization starts until it is lifted (they wait, visibly). */
export async function stopDeployments(db: HttpDatabase, caller: Caller, input: { organizationId: string; reason: string }): Promise<DeploymentStopView> {
  if (!isUuid(input.organizationId)) throw notFound('Organization');
  const principal = authorize(caller, 'environment:manage', { organizationId: input.organizationId }, 'Organization');
  const reason = input.reason.trim();
  if (reason.length < 1 || reason.length > 500) throw badInput('reason', 'must be 1-500 characters');
  const [organization] = await db.select({ id: organizations.id }).from(organizations).where(eq(organizations.id, input.organizationId));
  if (!organization) throw notFound('Organization');
  const stop: DeploymentStopRow = { organizationId: input.organizationId, reason, stoppedBy: principalName(principal), stoppedAt: new Date() };
  const mine = sql`exists (select 1 from deployment_stops where organization_id = ${stop.organizationId} and stopped_at = ${stop.stoppedAt} and stopped_by = ${stop.stoppedBy})`;
  const [inserted] = await db.batch([
    db.insert(deploymentStops).values(stop).onConflictDoNothing().returning({ organizationId: deploymentStops.organizationId }),
    recordActivity(
      db,
      principal,
      { action: 'stop_deployments', targetType: 'organization', targetId: stop.organizationId, organizationId: stop.organizationId, payload: { reason } },
      mine,
    ),
  ]);
  if (inserted.length === 0) throw new AppError('CONFLICT', 'Deployments of this organization are already stopped');
  return stop;
}

/** Lifts the stop: the deployments it held start (each environment's first, in queue order). */
export async function resumeDeployments(
  db: HttpDatabase,
  config: EngineConfig,
  caller: Caller,
  input: { organizationId: string },
): Promise<DeploymentStopView> {
  if (!isUuid(input.organizationId)) throw notFound('Organization');
  const principal = authorize(caller, 'environment:manage', { organizationId: input.organizationId }, 'Organization');
  const held = sql`exists (select 1 from deployment_stops where organization_id = ${input.organizationId})`;
  // The row locked first: of two lifting at once, the second finds nothing to lift and records nothing.
  const [, , deleted] = await db.batch([
    db.execute(sql`select 1 from deployment_stops where organization_id = ${input.organizationId} for update`),
    recordActivity(
      db,
      principal,
      { action: 'resume_deployments', targetType: 'organization', targetId: input.organizationId, organizationId: input.organizationId },
      held,
    ),
    db.delete(deploymentStops).where(eq(deploymentStops.organizationId, input.organizationId)).returning(),
  ]);
  const stop = deleted[0];
  if (!stop) throw new AppError('CONFLICT', 'Deployments of this organization are not stopped');
  await moveQueuesOn(db, config, new Date(), { organizationId: input.organizationId });
  return stop;
}

/** The windows with these ids that the caller may see, in one query; the rest are not found. */
export async function changeWindowsByIds(db: HttpDatabase, caller: Caller, ids: readonly string[]): Promise<ChangeWindowView[]> {
  const wellFormed = wellFormedIds(ids);
  if (wellFormed.length === 0) return [];
  const rows = await db.select().from(changeWindows).where(inArray(changeWindows.id, wellFormed));
  return rows.filter((row) => isAllowed(caller, 'environment:view', scopeTarget(row)));
}
