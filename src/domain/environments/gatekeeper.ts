// The environment gatekeeper: the one check the pipeline engine makes before a deployment starts.
// Deploying needs pipeline:execute on the project (rbac), always. Protection rules only narrow that:
// when rules match the environment's name, the principal must be named by every one of them —
// directly (a user, a service account), as a member of a named team, or through a named role it
// holds in the project (bound there or inherited from the organization). System administrators are
// no exception: a rule protects an environment from everyone it does not name. Without a matching
// rule, pipeline:execute is enough.
import { eq } from 'drizzle-orm';
import { loadCaller } from '../../auth/caller';
import { isAuthenticated, type AuthenticatedPrincipal, type Principal } from '../../auth/principal';
import { isAllowed } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { environmentProtectionRules, type EnvironmentProtectionRule } from '../../db/schema';
import { teamIdsOf } from '../approval-rules/principals';
import { validateName } from '../names';
import { patternMatches } from './pattern';
import { roleNamesOf } from './role-names';
import { loadProjectPath } from './service';

export interface DeployDecision {
  allowed: boolean;
  /** Why, in words an operator can act on (shown when a deployment is refused). */
  reason: string;
}

/** How the rule names the principal, or undefined when it does not. */
function namedBy(rule: EnvironmentProtectionRule, principal: AuthenticatedPrincipal, teamIds: string[], roles: string[]): string | undefined {
  if (principal.kind === 'user' && rule.userIds.includes(principal.userId)) return 'as a named user';
  if (principal.kind === 'service_account' && rule.serviceAccountIds.includes(principal.serviceAccountId)) return 'as a named service account';
  if (teamIds.some((id) => rule.teamIds.includes(id))) return 'through a named team';
  const role = roles.find((name) => rule.roleNames.includes(name));
  return role ? `through the role ${role}` : undefined;
}

/** Whether `principal` may deploy to the environment `environmentName` of the project. */
export async function mayDeploy(db: HttpDatabase, principal: Principal, target: { projectId: string; environmentName: string }): Promise<DeployDecision> {
  if (!isAuthenticated(principal)) return { allowed: false, reason: 'Authentication required' };
  const environmentName = validateName('environmentName', target.environmentName);
  const project = await loadProjectPath(db, target.projectId);
  const place = { organizationId: project.organizationId, projectId: project.id };

  const caller = await loadCaller(db, principal);
  if (!isAllowed(caller, 'pipeline:execute', place)) return { allowed: false, reason: 'Missing permission pipeline:execute on this project' };

  const rules = (await db.select().from(environmentProtectionRules).where(eq(environmentProtectionRules.projectId, project.id))).filter((rule) =>
    patternMatches(rule.environmentPattern, environmentName),
  );
  if (rules.length === 0) return { allowed: true, reason: `No protection rule matches environment ${environmentName}` };

  const [teamIds, roles] = await Promise.all([
    teamIdsOf(db, principal, project.organizationId),
    roleNamesOf(db, principal, project.organizationId, project.id),
  ]);
  const how: string[] = [];
  for (const rule of rules) {
    const named = namedBy(rule, principal, teamIds, roles);
    if (!named) {
      const who = principal.kind === 'user' ? `user ${principal.username}` : `service account ${principal.name}`;
      return { allowed: false, reason: `Environment ${environmentName} is protected by the rule for ${rule.environmentPattern}, which does not name ${who}` };
    }
    how.push(`the rule for ${rule.environmentPattern} (${named})`);
  }
  return { allowed: true, reason: `Allowed by ${how.join(' and ')}` };
}
