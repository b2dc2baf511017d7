// Approval links: an approval request sent to chat carries, for each eligible approver, a link that
// approves as that user without a sign-in. The link is its own credential, so it is narrow: signed
// (HMAC-SHA-256 under a key derived for this purpose alone from the key encryption key), naming one
// user and one node, expiring, and single use (its nonce is stored when it is used; a second use is
// refused). Opening it (GET) only shows a confirmation page — link scanners and chat previews fetch
// URLs — and the form's POST approves through approveNode, the service GraphQL calls, so the node's
// approval rules are asked again at that moment and the activity log records the approver.
import { sql } from 'drizzle-orm';
import type { PhobosConfig } from '../../config/load';
import type { HttpDatabase } from '../../db/client';
import { AppError } from '../../errors';
import { derivedKey } from '../../platform/derived-keys';
import { base64urlEncode, isCanonicalBase64url, utf8Encode } from '../../platform/encoding';
import { base64url } from 'jose';

/** How long an approval link may be used after its request was sent. */
export const approvalLinkLifetimeMs = 24 * 60 * 60 * 1000;

const purpose = 'phobos-edge/webhook-approval-links/v1';

export interface ApprovalLinkClaims {
  userId: string;
  nodeId: string;
  organizationId: string;
  /** Unix seconds. */
  expiresAt: number;
  nonce: string;
}

function linkKey(config: Pick<PhobosConfig, 'jwsProvider'>): Promise<CryptoKey> {
  const secret = config.jwsProvider.keyEncryptionKey;
  if (!secret) throw new AppError('SERVICE_UNAVAILABLE', 'Approval links need PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_ENCRYPTION_KEY');
  return derivedKey(secret, purpose, { name: 'HMAC', hash: 'SHA-256' }, ['sign', 'verify']);
}

/** The link's token: `<base64url claims>.<base64url signature>`. */
export async function signApprovalLink(config: Pick<PhobosConfig, 'jwsProvider'>, claims: Omit<ApprovalLinkClaims, 'nonce'>): Promise<string> {
  const nonce = base64urlEncode(crypto.getRandomValues(new Uint8Array(16)));
  const body = base64urlEncode(JSON.stringify({ u: claims.userId, n: claims.nodeId, o: claims.organizationId, x: claims.expiresAt, r: nonce }));
  const signature = new Uint8Array(await crypto.subtle.sign('HMAC', await linkKey(config), utf8Encode(body)));
  return `${body}.${base64urlEncode(signature)}`;
}

const invalidLink = () => new AppError('BAD_USER_INPUT', 'This approval link is not valid', { field: 'token' });

/** The claims of a well-signed, unexpired link; BAD_USER_INPUT for anything else (tampered, malformed, expired). */
export async function verifyApprovalLink(config: Pick<PhobosConfig, 'jwsProvider'>, token: string, now: Date): Promise<ApprovalLinkClaims> {
  const [body, signature, ...rest] = token.split('.');
  if (!body || !signature || rest.length > 0 || !isCanonicalBase64url(body) || !isCanonicalBase64url(signature)) throw invalidLink();
  const valid = await crypto.subtle.verify('HMAC', await linkKey(config), base64url.decode(signature).slice(), utf8Encode(body));
  if (!valid) throw invalidLink();
  const parsed = JSON.parse(new TextDecoder().decode(base64url.decode(body))) as { u: string; n: string; o: string; x: number; r: string };
  if (parsed.x * 1000 <= now.getTime()) throw new AppError('BAD_USER_INPUT', 'This approval link has expired', { field: 'token' });
  return { userId: parsed.u, nodeId: parsed.n, organizationId: parsed.o, expiresAt: parsed.x, nonce: parsed.r };
}

/**
 * Takes the link's one use: true when this call stored its nonce, false when it was used before.
 * Taken before approving, so two posts of one link cannot both go on; given back (releaseApprovalLink)
 * when the approval fails, so a refusal does not spend a link the approver may use once it is fixed.
 */
export async function claimApprovalLink(db: HttpDatabase, claims: ApprovalLinkClaims): Promise<boolean> {
  const result = await db.execute(sql`
    insert into webhook_approval_link_uses (nonce, user_id, node_id, expires_at)
    values (${claims.nonce}, ${claims.userId}, ${claims.nodeId}, ${new Date(claims.expiresAt * 1000).toISOString()})
    on conflict (nonce) do nothing returning nonce`);
  return result.rows.length === 1;
}

export async function releaseApprovalLink(db: HttpDatabase, claims: ApprovalLinkClaims): Promise<void> {
  await db.execute(sql`delete from webhook_approval_link_uses where nonce = ${claims.nonce}`);
}
