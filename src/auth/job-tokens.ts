// Job tokens: what a claim hands the job executor with each lease. A JWT (HS256, key derived from
// the installation secret for this purpose alone) naming one job and one lease: it opens that job's
// inputs and carries its log, status and outputs, nothing else, and a newer lease of the same job
// makes it useless (the queue refuses a lease it no longer holds). Expires after the job's maximum
// duration plus one hour, as Phobos's job tokens do.
import { jwtVerify, SignJWT } from 'jose';
import type { PhobosConfig } from '../config/load';
import { AppError, unauthenticated } from '../errors';
import { derivedKey } from '../platform/derived-keys';

const purpose = 'phobos-edge/job-tokens/v1';
const audience = 'phobos-edge/job';
const algorithm = 'HS256';

type JobTokenConfig = Pick<PhobosConfig, 'jwsProvider' | 'server'>;

function signingKey(config: JobTokenConfig): Promise<CryptoKey> {
  const secret = config.jwsProvider.keyEncryptionKey;
  if (!secret) throw new AppError('SERVICE_UNAVAILABLE', 'Jobs need PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_ENCRYPTION_KEY to sign their tokens');
  return derivedKey(secret, purpose, { name: 'HMAC', hash: 'SHA-256', length: 256 }, ['sign', 'verify']);
}

export interface JobTokenClaims {
  jobId: string;
  leaseId: string;
  /**
   * The agent whose queue granted the lease (tokens minted since it was added): the job routes ask
   * that queue about the lease while they read the job, instead of after. Never trusted alone: the
   * job must still be routed to this agent.
   */
  agentId?: string;
}

export async function mintJobToken(config: JobTokenConfig, claims: JobTokenClaims, maxDurationSeconds: number, now: Date = new Date()): Promise<string> {
  const issuedAt = Math.floor(now.getTime() / 1000);
  return new SignJWT(claims.agentId === undefined ? { lease: claims.leaseId } : { lease: claims.leaseId, agent: claims.agentId })
    .setProtectedHeader({ alg: algorithm, typ: 'phobos-job+jwt' })
    .setIssuer(config.server.apiUrl)
    .setAudience(audience)
    .setSubject(claims.jobId)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + maxDurationSeconds + 3600)
    .sign(await signingKey(config));
}

/** The job and lease a job token names; UNAUTHENTICATED for anything else (expired, altered, another kind of token). */
export async function verifyJobToken(config: JobTokenConfig, token: string): Promise<JobTokenClaims> {
  try {
    const { payload } = await jwtVerify(token, await signingKey(config), {
      algorithms: [algorithm],
      issuer: config.server.apiUrl,
      audience,
      typ: 'phobos-job+jwt',
      requiredClaims: ['sub', 'exp', 'lease'],
    });
    if (typeof payload.sub !== 'string' || typeof payload.lease !== 'string') throw new Error('claims');
    return { jobId: payload.sub, leaseId: payload.lease, ...(typeof payload.agent === 'string' ? { agentId: payload.agent } : {}) };
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw unauthenticated('The job token is invalid or expired');
  }
}
