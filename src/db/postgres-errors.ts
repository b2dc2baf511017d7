// The one place that reads PostgreSQL's error codes (SQLSTATE) out of driver errors, so services
// speak of conflicts and missing references, never of numbers. drizzle wraps the driver's error as
// `cause`; the Neon driver and pg both carry `code` and `constraint` as PostgreSQL sent them.
import { AppError, notFound } from '../errors';

interface PostgresErrorFields {
  code?: string;
  constraint?: string;
}

const uniqueViolation = '23505';
const foreignKeyViolation = '23503';

function postgresError(error: unknown): PostgresErrorFields {
  const cause = (error as { cause?: PostgresErrorFields } | undefined)?.cause;
  return cause?.code ? cause : ((error ?? {}) as PostgresErrorFields);
}

/** What a row of each referenced table is called in messages. */
const referencedObjects: Record<string, string> = {
  organizations: 'Organization',
  projects: 'Project',
  users: 'User',
  service_accounts: 'Service account',
  user_sessions: 'Session',
  teams: 'Team',
  roles: 'Role',
  agents: 'Agent',
};

/**
 * Rethrows a foreign-key violation — an id naming a row that does not exist, or was deleted
 * meanwhile — as NOT_FOUND naming what is missing (drizzle names foreign keys
 * `<table>_<column>_<referenced table>_<column>_fk`); other errors as they are. Services call it
 * around inserts whose parents they did not load first, so a missing parent is never a 500.
 */
export function rethrowMissingReference(error: unknown): void {
  const fields = postgresError(error);
  if (fields.code !== foreignKeyViolation) return;
  const table = Object.keys(referencedObjects).find((name) => fields.constraint?.endsWith(`_${name}_id_fk`));
  throw notFound(table ? referencedObjects[table]! : 'Referenced object');
}

/**
 * Rethrows a unique violation of `constraint` as CONFLICT naming the field, a missing reference as
 * NOT_FOUND (rethrowMissingReference), other errors as they are.
 */
export function rethrowConflict(error: unknown, constraint: string, field: string, message: string): never {
  rethrowMissingReference(error);
  const fields = postgresError(error);
  if (fields.code === uniqueViolation && fields.constraint === constraint) throw new AppError('CONFLICT', message, { field });
  throw error;
}

/**
 * Rethrows a foreign-key violation raised by a delete — rows elsewhere still point at the row — as
 * CONFLICT with `message`; other errors as they are.
 */
export function rethrowStillReferenced(error: unknown, message: string): never {
  if (postgresError(error).code === foreignKeyViolation) throw new AppError('CONFLICT', message);
  throw error;
}
