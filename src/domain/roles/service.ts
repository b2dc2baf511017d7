// Roles: the four built-in ones (built-in.ts) and custom ones, each a named set of the documented
// `resource:action` permissions (organizationPermissions in src/auth/rbac.ts). Every authenticated
// caller may list them (to grant them, or to know what a membership means); only system admins
// create, change and delete custom roles. Built-in roles never change, and a role someone holds
// cannot be deleted (its memberships would silently lose their access).
import { staleVersion } from '../versioned-update';
import { eq, inArray, sql } from 'drizzle-orm';
import { authorize, installation, organizationPermissions, type Caller, type OrganizationPermission } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { rethrowConflict } from '../../db/postgres-errors';
import { roles, type Role } from '../../db/schema';
import { AppError, badInput, notFound } from '../../errors';
import { recordActivity } from '../activity/record';
import { wellFormedIds } from '../ids';
import { validateDescription, validateName } from '../names';
import { prnOf } from '../prn';
import { insertWithinLimit, withinLimit } from '../resource-limits/within-limit';
import { builtInRoles } from './built-in';
import { advisoryLock } from '../../db/advisory-lock';

export const rolePrn = (role: Pick<Role, 'name'>) => prnOf('role', role.name);

/** Built-in roles first, from the most powerful; then custom roles by name. */
function byRank(rows: Role[]): Role[] {
  const rank = (role: Role) => {
    const index = builtInRoles.findIndex((builtIn) => builtIn.id === role.id);
    return index === -1 ? builtInRoles.length : index;
  };
  return rows.sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}

export async function listRoles(db: HttpDatabase, caller: Caller): Promise<Role[]> {
  authorize(caller, 'role:view', installation);
  return byRank(await db.select().from(roles));
}

export async function rolesByIds(db: HttpDatabase, caller: Caller, ids: readonly string[]): Promise<Role[]> {
  authorize(caller, 'role:view', installation);
  const wellFormed = wellFormedIds(ids);
  if (wellFormed.length === 0) return [];
  return db.select().from(roles).where(inArray(roles.id, wellFormed));
}

/** The ids of the roles with these names (PRN paths `<role>`), in one query, keyed by name. */
export async function roleIdsByPath(db: HttpDatabase, paths: readonly string[][]): Promise<Map<string, string>> {
  const names = paths.filter((path) => path.length === 1).map(([name]) => name!);
  if (names.length === 0) return new Map();
  const rows = await db.select({ id: roles.id, name: roles.name }).from(roles).where(inArray(roles.name, names));
  return new Map(rows.map((row) => [row.name, row.id]));
}

/** The permissions a role may hold, as documented: `resource:action`. */
export function availableRolePermissions(caller: Caller): readonly OrganizationPermission[] {
  authorize(caller, 'role:view', installation);
  return organizationPermissions;
}

const catalog: ReadonlySet<string> = new Set(organizationPermissions);

/** Known permissions only, each once, in the catalog's order; BAD_USER_INPUT naming the first unknown one. */
function validatePermissions(permissions: readonly string[]): OrganizationPermission[] {
  permissions.forEach((permission, index) => {
    if (!catalog.has(permission.trim())) {
      throw badInput(`permissions.${index}`, `unknown permission "${permission}"; see availableRolePermissions`);
    }
  });
  const wanted = new Set(permissions.map((permission) => permission.trim()));
  return organizationPermissions.filter((permission) => wanted.has(permission));
}

/** A Postgres array literal of catalog permissions (which hold no quotes, commas or braces). */
const textArray = (permissions: readonly string[]) => `{${permissions.join(',')}}`;

export interface CreateRoleInput {
  name: string;
  description?: string;
  permissions: readonly string[];
}

export async function createRole(db: HttpDatabase, caller: Caller, input: CreateRoleInput): Promise<Role> {
  const principal = authorize(caller, 'role:manage', installation);
  const name = validateName('name', input.name);
  const description = validateDescription(input.description);
  const permissions = validatePermissions(input.permissions);
  const id = crypto.randomUUID();
  try {
    await insertWithinLimit<{ id: string }>(db, {
      limitName: 'ResourceLimitRolesPerInstallation',
      lockKey: 'roles',
      statement: sql`
        insert into roles (id, name, description, permissions)
        select ${id}, ${name}, ${description}, ${textArray(permissions)}::text[]
        where ${withinLimit('ResourceLimitRolesPerInstallation', sql`select count(*) from roles`)}
        returning id`,
      after: [
        recordActivity(
          db,
          principal,
          { action: 'create', targetType: 'role', targetId: id, targetPrn: prnOf('role', name), payload: { name, permissions } },
          sql`exists (select 1 from roles where id = ${id})`,
        ),
      ],
    });
  } catch (error) {
    rethrowConflict(error, 'roles_name_key', 'name', `A role named ${name} already exists`);
  }
  return (await db.select().from(roles).where(eq(roles.id, id)))[0]!;
}

async function loadCustom(db: HttpDatabase, id: string, version: number | undefined, verb: string): Promise<Role> {
  const [role] = await db.select().from(roles).where(eq(roles.id, id));
  if (!role) throw notFound('Role');
  if (role.builtIn) throw badInput('id', `${role.name} is a built-in role: built-in roles cannot be ${verb}`);
  if (version !== undefined && version !== role.version) throw staleRole(role);
  return role;
}

const staleRole = (role: Role) => staleVersion(`Role ${role.name}`, role.version);

/**
 * Runs a change of one role under the role's advisory lock, its activity event first with the
 * condition the change then applies under: nothing else changes the role in between, so the event
 * is written exactly when the change is. Returns whether the change happened.
 */
async function lockedChange(
  db: HttpDatabase,
  role: Role,
  event: ReturnType<typeof recordActivity>,
  change: ReturnType<HttpDatabase['execute']>,
): Promise<boolean> {
  const [, , changed] = await db.batch([advisoryLock(db, `role:${role.id}`), event, change]);
  return (changed as { rows: unknown[] }).rows.length > 0;
}

/** Why a guarded change of a loaded role did not happen. */
async function refusal(db: HttpDatabase, id: string): Promise<AppError> {
  const [now] = await db.select().from(roles).where(eq(roles.id, id));
  return now ? staleRole(now) : notFound('Role');
}

export interface UpdateRoleInput {
  id: string;
  name?: string;
  description?: string;
  permissions?: readonly string[];
  version?: number;
}

export async function updateRole(db: HttpDatabase, caller: Caller, input: UpdateRoleInput): Promise<Role> {
  const principal = authorize(caller, 'role:manage', installation);
  const role = await loadCustom(db, input.id, input.version, 'changed');
  const name = input.name === undefined ? role.name : validateName('name', input.name);
  const description = input.description === undefined ? role.description : validateDescription(input.description);
  const permissions = input.permissions === undefined ? role.permissions : validatePermissions(input.permissions);

  const changes: Record<string, { old: unknown; new: unknown }> = {};
  if (name !== role.name) changes.name = { old: role.name, new: name };
  if (description !== role.description) changes.description = { old: role.description, new: description };
  if (permissions.join() !== role.permissions.join()) changes.permissions = { old: role.permissions, new: permissions };
  // The version the caller read guards the change even when it sent none, so the event's old values are the ones replaced.
  const unchanged = sql`id = ${role.id} and version = ${role.version} and not built_in`;
  try {
    const changed = await lockedChange(
      db,
      role,
      recordActivity(
        db,
        principal,
        { action: 'update', targetType: 'role', targetId: role.id, targetPrn: prnOf('role', name), payload: changes },
        sql`exists (select 1 from roles where ${unchanged})`,
      ),
      db.execute(sql`
        update roles set name = ${name}, description = ${description}, permissions = ${textArray(permissions)}::text[], version = version + 1, updated_at = now()
        where ${unchanged} returning id`),
    );
    if (!changed) throw await refusal(db, role.id);
  } catch (error) {
    rethrowConflict(error, 'roles_name_key', 'name', `A role named ${name} already exists`);
  }
  return (await db.select().from(roles).where(eq(roles.id, role.id)))[0]!;
}

async function holders(db: HttpDatabase, roleId: string): Promise<number> {
  const result = await db.execute<{ count: number }>(sql`select count(*)::int as count from memberships where role_id = ${roleId}`);
  return result.rows[0]!.count;
}

function inUse(role: Role, count: number): AppError {
  return new AppError('CONFLICT', `Role ${role.name} is held by ${count} membership(s): change or remove them first`, {
    field: 'id',
    details: { memberships: count },
  });
}

/** Deletes a custom role nobody holds; returns what it was. */
export async function deleteRole(db: HttpDatabase, caller: Caller, input: { id: string; version?: number }): Promise<Role> {
  const principal = authorize(caller, 'role:manage', installation);
  const role = await loadCustom(db, input.id, input.version, 'deleted');
  const unused = sql`id = ${role.id} and version = ${role.version} and not built_in and not exists (select 1 from memberships where role_id = ${role.id})`;
  let changed: boolean;
  try {
    changed = await lockedChange(
      db,
      role,
      recordActivity(
        db,
        principal,
        { action: 'delete', targetType: 'role', targetId: role.id, targetPrn: rolePrn(role), payload: { name: role.name, permissions: role.permissions } },
        sql`exists (select 1 from roles where ${unused})`,
      ),
      db.execute(sql`delete from roles where ${unused} returning id`),
    );
  } catch (error) {
    // A membership granted the role between the check and the delete: the foreign key refused it.
    const count = await holders(db, role.id);
    if (count > 0) throw inUse(role, count);
    throw error;
  }
  if (!changed) {
    const count = await holders(db, role.id);
    if (count > 0) throw inUse(role, count);
    throw await refusal(db, role.id);
  }
  return role;
}
