// The one place that reads PostgreSQL's error codes (SQLSTATE) out of driver errors, so services
// speak of conflicts and missing references, never of numbers. drizzle wraps the driver's error as
// `cause`; the Neon driver and pg both carry `code` and `constraint` as PostgreSQL sent them.
import { AppError } from '../errors';

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

/** A foreign key pointed at a row that does not exist (or was deleted meanwhile). */
export function isForeignKeyViolation(error: unknown): boolean {
  return postgresError(error).code === foreignKeyViolation;
}

/** Rethrows a unique violation of `constraint` as CONFLICT naming the field; other errors as they are. */
export function rethrowConflict(error: unknown, constraint: string, field: string, message: string): never {
  const fields = postgresError(error);
  if (fields.code === uniqueViolation && fields.constraint === constraint) throw new AppError('CONFLICT', message, { field });
  throw error;
}
