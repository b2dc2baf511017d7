// What an approval link's page shows and what its form does (approval-links.ts says why links are
// built as they are). Approving goes through approveNode as the link's user, with the user's role
// bindings loaded as for any request: the node's approval rules are asked now, not when the link
// was made, so an approver removed from the rule (or from the organization) is refused, and the
// activity log records the approval as that user's.
import { sql } from 'drizzle-orm';
import { loadCaller } from '../../auth/caller';
import type { UserPrincipal } from '../../auth/principal';
import type { PhobosConfig } from '../../config/load';
import type { HttpDatabase } from '../../db/client';
import { AppError } from '../../errors';
import { approveNode, type NodeView } from '../pipelines/service';
import { claimApprovalLink, releaseApprovalLink, verifyApprovalLink, type ApprovalLinkClaims } from './approval-links';

export interface ApprovalLinkSummary {
  claims: ApprovalLinkClaims;
  username: string;
  nodePath: string;
  nodeKind: string;
  nodeStatus: string;
  pipelineId: string;
  projectName: string;
  organizationName: string;
  used: boolean;
}

const linkUnusable = () => new AppError('NOT_FOUND', 'This approval link is no longer usable');

/** The link's claims and what it would approve; BAD_USER_INPUT for a bad or expired link, NOT_FOUND when its user or node is gone. */
export async function describeApprovalLink(db: HttpDatabase, config: PhobosConfig, token: string, now: Date): Promise<ApprovalLinkSummary> {
  const claims = await verifyApprovalLink(config, token, now);
  const { rows } = await db.execute<{
    username: string;
    node_path: string;
    node_kind: string;
    node_status: string;
    pipeline_id: string;
    project_name: string;
    organization_name: string;
    used: boolean;
  }>(sql`
    select u.username, n.path as node_path, n.kind as node_kind, n.status as node_status, n.pipeline_id, p.name as project_name,
      o.name as organization_name, exists (select 1 from webhook_approval_link_uses where nonce = ${claims.nonce}) as used
    from pipeline_nodes n
    join pipelines pl on pl.id = n.pipeline_id
    join projects p on p.id = pl.project_id
    join organizations o on o.id = p.organization_id
    join users u on u.id = ${claims.userId} and u.active
    where n.id = ${claims.nodeId} and o.id = ${claims.organizationId}`);
  const row = rows[0];
  if (!row) throw linkUnusable();
  return {
    claims,
    username: row.username,
    nodePath: row.node_path,
    nodeKind: row.node_kind,
    nodeStatus: row.node_status,
    pipelineId: row.pipeline_id,
    projectName: row.project_name,
    organizationName: row.organization_name,
    used: row.used,
  };
}

/**
 * Approves as the link's user, once. CONFLICT when the link was used already; what approveNode
 * refuses (FORBIDDEN: no longer an approver; CONFLICT: approved already, or not waiting) gives the
 * link back unused.
 */
export async function approveWithLink(db: HttpDatabase, config: PhobosConfig, token: string, now: Date): Promise<NodeView> {
  const summary = await describeApprovalLink(db, config, token, now);
  if (summary.used || !(await claimApprovalLink(db, summary.claims))) throw new AppError('CONFLICT', 'This approval link was already used');
  try {
    const [user] = (
      await db.execute<{ id: string; username: string; email: string; is_admin: boolean }>(
        sql`select id, username, email, is_admin from users where id = ${summary.claims.userId} and active`,
      )
    ).rows;
    if (!user) throw linkUnusable();
    // The link stands in for the user's sign-in; it is an access credential as narrow as the link.
    const principal: UserPrincipal = { kind: 'user', userId: user.id, username: user.username, email: user.email, isAdmin: user.is_admin, via: 'access_token' };
    return await approveNode(db, config, await loadCaller(db, principal), { nodeId: summary.claims.nodeId });
  } catch (error) {
    await releaseApprovalLink(db, summary.claims);
    throw error;
  }
}
