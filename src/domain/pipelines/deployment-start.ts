// A release lifecycle's `deployment` node starting (release-lifecycle.ts builds the lifecycle): it
// starts a DEPLOYMENT pipeline of the release's template for its environment, in the lifecycle's
// tree (parent: the lifecycle pipeline and this node), with the release's variables that template
// declares. Before that the environment gatekeeper is asked whether the deployer may deploy there
// (a refusal fails the node, the gatekeeper's reason in its event) and the environment is created
// if missing. The deployer is whoever released the node: the person retrying it, else the last
// approver whose approval completed its rules, else the release's creator (the lifecycle's
// trigger) — re-read now, so roles and protection rules as they are at the start apply.
// ensureEnvironment commits on its own (it is idempotent): a transition recomputed after a lost
// race finds the environment there.
import { eq } from 'drizzle-orm';
import type { AuthenticatedPrincipal } from '../../auth/principal';
import { type PipelineNodeRow, type PipelineTrigger, serviceAccounts, users } from '../../db/schema';
import { AppError } from '../../errors';
import { systemInitiator } from '../activity/record';
import { ensureEnvironment } from '../environments/ensure';
import { mayDeploy } from '../environments/gatekeeper';
import { reasonOf, scopeOf, templateNested, type EngineContext } from './advance';
import { buildPipeline } from './build';
import { startOrHold } from './deployment-gate';
import type { Draft } from './draft';
import { ExpressionError } from './expressions';
import { maxTreeNodes } from './nested';
import { resolveVariables } from './variables';

/** Who moves a deployment on: a user or a service account, by id (as pipelines record their trigger). */
export type Deployer = Pick<PipelineTrigger, 'id' | 'name'> & { kind: 'user' | 'service_account' };

export function deployerOf(principal: AuthenticatedPrincipal): Deployer {
  return principal.kind === 'user'
    ? { kind: 'user', id: principal.userId, name: principal.username }
    : { kind: 'service_account', id: principal.serviceAccountId, name: principal.name };
}

/** The principal as it is now (admin flag, service account's organization), or undefined when it is gone. */
async function principalOf(ctx: EngineContext, deployer: Deployer): Promise<AuthenticatedPrincipal | undefined> {
  if (deployer.id === null) return undefined;
  if (deployer.kind === 'user') {
    const [user] = await ctx.db.select({ username: users.username, email: users.email, isAdmin: users.isAdmin }).from(users).where(eq(users.id, deployer.id));
    return user && { kind: 'user', userId: deployer.id, username: user.username, email: user.email, isAdmin: user.isAdmin, via: 'access_token' };
  }
  const [account] = await ctx.db
    .select({ name: serviceAccounts.name, organizationId: serviceAccounts.organizationId })
    .from(serviceAccounts)
    .where(eq(serviceAccounts.id, deployer.id));
  return account && { kind: 'service_account', serviceAccountId: deployer.id, organizationId: account.organizationId, name: account.name, via: 'access_token' };
}

/** The approver whose approval came last (the one that completed the node's rules), if any. */
function lastApprover(draft: Draft, node: PipelineNodeRow): Deployer | undefined {
  const approvals = draft.tree.approvals.filter((approval) => approval.nodeId === node.id && approval.revokedAt === null);
  const last = approvals.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime()).at(-1);
  if (!last) return undefined;
  return last.userId !== null
    ? { kind: 'user', id: last.userId, name: last.principalName }
    : { kind: 'service_account', id: last.serviceAccountId, name: last.principalName };
}

class DeploymentRefused extends Error {}

/** Starts the deployment node's DEPLOYMENT pipeline, or fails the node with the reason it cannot start. */
export async function startDeployment(draft: Draft, ctx: EngineContext, node: PipelineNodeRow, retriedBy?: Deployer): Promise<void> {
  const lifecycle = draft.pipeline(node.pipelineId);
  const block = templateNested(draft, node);
  const environmentName = block.environment!;
  const trigger = lifecycle.trigger;
  const deployer: Deployer | undefined =
    retriedBy ?? lastApprover(draft, node) ?? (trigger.kind === 'system' ? undefined : { kind: trigger.kind, id: trigger.id, name: trigger.name });
  let principal: AuthenticatedPrincipal | undefined;
  try {
    principal = deployer && (await principalOf(ctx, deployer));
    if (!principal) throw new DeploymentRefused(`the deployer ${deployer?.name ?? trigger.name} no longer exists`);
    const decision = await mayDeploy(ctx.db, principal, { projectId: lifecycle.projectId, environmentName });
    if (!decision.allowed) throw new DeploymentRefused(decision.reason);
    await ensureEnvironment(ctx.db, lifecycle.projectId, environmentName, principal);
    // The lifecycle pipeline names each deployment's template version by id (a literal).
    const templateId = block.templateId.kind === 'literal' ? String(block.templateId.value) : '';
    const template = await ctx.loadNestedTemplate(lifecycle.projectId, lifecycle.organizationId, templateId);
    if (!template) throw new DeploymentRefused(`no pipeline template ${templateId} in this project`);
    const nodes = draft.tree.nodes.size + template.compiled.stages.reduce((sum, stage) => sum + 1 + stage.tasks.length + stage.pipelines.length, 0);
    if (nodes > maxTreeNodes)
      throw new DeploymentRefused(`a release lifecycle with its deployments has at most ${maxTreeNodes} nodes; this one would have ${nodes}`);
    const release = (await scopeOf(draft, ctx.config, lifecycle)).var;
    const given = Object.fromEntries(
      template.compiled.variables.filter((item) => Object.hasOwn(release, item.name)).map((item) => [item.name, release[item.name]]),
    );
    const child = await buildPipeline(draft, ctx.config, {
      type: 'DEPLOYMENT',
      organizationId: lifecycle.organizationId,
      projectId: lifecycle.projectId,
      templateId: template.id,
      template: template.compiled,
      environmentName,
      rootId: lifecycle.rootPipelineId,
      parent: { pipelineId: lifecycle.id, nodeId: node.id },
      releaseId: lifecycle.releaseId,
      variables: resolveVariables(template.compiled, given, `${node.path}.variables`),
      annotations: [],
      trigger: deployerOf(principal),
      rules: template.rules,
    });
    node.nestedPipelineId = child.id;
    draft.setNode(node, 'run', 'RUNNING', { nestedPipelineId: child.id, environmentName, deployer: deployer!.name, gatekeeper: decision.reason });
    // The deployment gate decides whether it starts now or waits in its environment's queue.
    await startOrHold(ctx.db, draft, child);
    draft.record(principal, {
      action: 'deploy',
      targetType: 'pipeline',
      targetId: child.id,
      organizationId: lifecycle.organizationId,
      projectId: lifecycle.projectId,
      payload: { releaseId: lifecycle.releaseId, environmentName, lifecyclePipelineId: lifecycle.id, path: node.path, pipelineTemplateId: template.id },
    });
  } catch (error) {
    if (!(error instanceof DeploymentRefused) && !(error instanceof ExpressionError) && !(error instanceof AppError)) throw error;
    const reason = reasonOf(draft, lifecycle.id, error);
    draft.setNode(node, 'fail', 'FAILED', { environmentName, deployer: deployer?.name ?? null, reason });
    draft.record(principal ?? systemInitiator, {
      action: 'deploy_refused',
      targetType: 'pipeline_node',
      targetId: node.id,
      organizationId: lifecycle.organizationId,
      projectId: lifecycle.projectId,
      payload: { releaseId: lifecycle.releaseId, environmentName, lifecyclePipelineId: lifecycle.id, path: node.path, reason },
    });
  }
}
