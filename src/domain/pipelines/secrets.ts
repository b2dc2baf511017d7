// Secrets of pipelines at rest: the values of sensitive variables (sealed per pipeline) and the
// evaluated inputs of jobs (sealed per job: they may carry sensitive values). Sealed with the
// installation's envelope key, bound to their row and column so a ciphertext moved elsewhere does
// not open.
import type { PhobosConfig } from '../../config/load';
import { AppError } from '../../errors';
import { utf8Encode } from '../../platform/encoding';
import { envelope, type Envelope } from '../../platform/envelope';

const purpose = 'phobos-edge/pipelines/v1';
const utf8Decoder = new TextDecoder();

/** What the engine needs of the configuration: the envelope key, and the agents' lease (routing at commit: which sessions are live). */
export type EngineConfig = Pick<PhobosConfig, 'jwsProvider' | 'agents'>;

function pipelineEnvelope(config: EngineConfig): Envelope {
  const secret = config.jwsProvider.keyEncryptionKey;
  if (!secret) throw new AppError('SERVICE_UNAVAILABLE', 'Pipelines need PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_ENCRYPTION_KEY to encrypt their secrets');
  return envelope(secret, purpose);
}

export function sealJson(config: EngineConfig, value: unknown, boundTo: string): Promise<string> {
  return pipelineEnvelope(config).seal(utf8Encode(JSON.stringify(value)), boundTo);
}

export async function openJson<T>(config: EngineConfig, sealed: string, boundTo: string): Promise<T> {
  return JSON.parse(utf8Decoder.decode(await pipelineEnvelope(config).open(sealed, boundTo))) as T;
}

export const variablesBinding = (pipelineId: string) => `pipelines/${pipelineId}/sensitive_variables`;
export const jobInputsBinding = (jobId: string) => `jobs/${jobId}/inputs`;
