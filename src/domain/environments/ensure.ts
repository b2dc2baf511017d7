// Environments come into being the first time a deployment targets them: the pipeline engine calls
// ensureEnvironment before it starts a deployment (after the gatekeeper, gatekeeper.ts, let it).
// No caller is authorized here: the engine has already decided the deployment may run.
import { sql } from 'drizzle-orm';
import type { AuthenticatedPrincipal } from '../../auth/principal';
import type { HttpDatabase } from '../../db/client';
import { rethrowMissingReference } from '../../db/postgres-errors';
import { AppError } from '../../errors';
import { recordActivity, systemInitiator } from '../activity/record';
import { validateName } from '../names';
import { withinLimit } from '../resource-limits/within-limit';
import { advisoryLock } from '../../db/advisory-lock';
import {
  environmentPrn,
  environmentsLimit,
  environmentsLockKey,
  liveEnvironmentCount,
  liveEnvironmentNamed,
  loadProjectPath,
  type EnvironmentView,
} from './service';

/**
 * The project's live environment named `name`, created if missing (with its activity event,
 * initiated by `initiator`: the deployment's, or the system). Idempotent, and safe when deployments
 * race for the same new environment: creates of one project are serialised and the insert does
 * nothing on a name already taken. A new environment counts against
 * ResourceLimitEnvironmentsPerProject; an existing one is returned whatever the limit.
 */
export async function ensureEnvironment(
  db: HttpDatabase,
  projectId: string,
  name: string,
  initiator: AuthenticatedPrincipal | typeof systemInitiator = systemInitiator,
): Promise<EnvironmentView> {
  const environmentName = validateName('environmentName', name);
  const project = await loadProjectPath(db, projectId);
  const existing = await liveEnvironmentNamed(db, project.id, environmentName);
  if (existing) return existing;

  const id = crypto.randomUUID();
  await db
    .batch([
      advisoryLock(db, environmentsLockKey(project.id)),
      db.execute(sql`
        insert into environments (id, organization_id, project_id, name)
        select ${id}, ${project.organizationId}, ${project.id}, ${environmentName}
        where ${withinLimit(environmentsLimit, liveEnvironmentCount(project.id))}
        on conflict (project_id, name) where deleted_at is null do nothing`),
      recordActivity(
        db,
        initiator,
        {
          action: 'create',
          targetType: 'environment',
          targetId: id,
          targetPrn: environmentPrn(project.organizationName, project.name, environmentName),
          organizationId: project.organizationId,
          projectId: project.id,
          payload: { name: environmentName, automatic: true },
        },
        sql`exists (select 1 from environments where id = ${id})`,
      ),
    ])
    .catch((error: unknown) => {
      rethrowMissingReference(error);
      throw error;
    });

  const environment = await liveEnvironmentNamed(db, project.id, environmentName);
  if (environment) return environment;
  const [limit] = (await db.execute<{ value: number }>(sql`select value from resource_limits where name = ${environmentsLimit}`)).rows;
  throw new AppError('RESOURCE_LIMIT_EXCEEDED', `Resource limit ${environmentsLimit} (${limit?.value ?? 'unknown'}) reached`, {
    details: { limit: environmentsLimit, value: limit?.value },
  });
}
