// Job tokens: what a claim hands the job executor with each lease. A JWT (HS256, key derived from
// the installation secret for this purpose alone) naming one job and one lease: it opens that job's
// inputs and carries its log, status and outputs, nothing else, and a newer lease of the same job
// makes it useless (the queue refuses a lease it no longer holds). Expires after the job's maximum
// duration plus one hour, as Phobos's job tokens do.
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { Buffer } from 'node:buffer';
import { createHmac } from 'node:crypto';
import { jwtVerify } from 'jose';
import type { PhobosConfig } from '../config/load';
import { AppError, unauthenticated } from '../errors';
import { derivedKey } from '../platform/derived-keys';
import { base64urlEncode, utf8Encode } from '../platform/encoding';

const purpose = 'phobos-edge/job-tokens/v1';
const audience = 'phobos-edge/job';
const algorithm = 'HS256';

type JobTokenConfig = Pick<PhobosConfig, 'jwsProvider' | 'server'>;

function secretOf(config: JobTokenConfig): string {
  const secret = config.jwsProvider.keyEncryptionKey;
  if (!secret) throw new AppError('SERVICE_UNAVAILABLE', 'Jobs need PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_ENCRYPTION_KEY to sign their tokens');
  return secret;
}

/** The verifying key: WebCrypto's HMAC key, HKDF-derived from the secret (derived-keys.ts). */
function verifyingKey(config: JobTokenConfig): Promise<CryptoKey> {
  return derivedKey(secretOf(config), purpose, { name: 'HMAC', hash: 'SHA-256', length: 256 }, ['verify']);
}

/** The same key's 32 bytes (HKDF-SHA-256, the purpose as salt, no info: what derivedKey derives), for signing without WebCrypto. */
const signingKeys = new Map<string, Uint8Array>();
function signingKeyBytes(config: JobTokenConfig): Uint8Array {
  const secret = secretOf(config);
  let key = signingKeys.get(secret);
  if (!key) {
    key = hkdf(sha256, utf8Encode(secret), utf8Encode(purpose), new Uint8Array(), 32);
    signingKeys.set(secret, key);
  }
  return key;
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

/** The header is the same for every token: encoded once. */
const encodedHeader = base64urlEncode(JSON.stringify({ alg: algorithm, typ: 'phobos-job+jwt' }));

/**
 * Signed here, synchronously, rather than by jose's SignJWT, which signs only through WebCrypto and
 * so only asynchronously: the agent queue hands a lease out in the same synchronous step that picks
 * its job, before it writes anything, so that the lease is not held back behind the confirmation of
 * its queue's storage (src/durable/agent-queue.ts `enqueue`). The token is the compact JWS jose
 * would make of the same claims (the job token test compares them byte for byte), HMAC-SHA-256 with
 * the same derived key by the runtime's `node:crypto` (native in workerd under nodejs_compat, as in
 * Node): the pure-JS HMAC it replaced was about 5% of the queue's CPU per job in the jobs benchmark's
 * profile. Verifying stays jose's `jwtVerify`.
 */
export function mintJobToken(config: JobTokenConfig, claims: JobTokenClaims, maxDurationSeconds: number, now: Date = new Date()): string {
  // jose refused these; a token with `exp: null` would never verify.
  if (!Number.isSafeInteger(maxDurationSeconds) || maxDurationSeconds <= 0)
    throw new Error(`maxDurationSeconds must be a positive integer: ${maxDurationSeconds}`);
  const issuedAt = Math.floor(now.getTime() / 1000);
  const payload = {
    lease: claims.leaseId,
    ...(claims.agentId === undefined ? {} : { agent: claims.agentId }),
    iss: config.server.apiUrl,
    aud: audience,
    sub: claims.jobId,
    iat: issuedAt,
    exp: issuedAt + maxDurationSeconds + 3600,
  };
  // Encoded by the runtime's Buffer and the HMAC's own base64url digest, native both: the JS encoder
  // was about a fifth of the token's cost in the jobs benchmark's profile.
  const signingInput = `${encodedHeader}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return `${signingInput}.${createHmac('sha256', signingKeyBytes(config)).update(signingInput).digest('base64url')}`;
}

/** The job and lease a job token names; UNAUTHENTICATED for anything else (expired, altered, another kind of token). */
export async function verifyJobToken(config: JobTokenConfig, token: string): Promise<JobTokenClaims> {
  try {
    const { payload } = await jwtVerify(token, await verifyingKey(config), {
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
