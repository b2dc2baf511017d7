// The secrets of a VCS provider (its token, refresh token, OAuth client secret) at rest: sealed
// with the installation's envelope key, each bound to its provider and column, so a ciphertext
// copied to another row or column does not open.
import type { PhobosConfig } from '../../config/load';
import { AppError } from '../../errors';
import { utf8Encode } from '../../platform/encoding';
import { envelope, type Envelope } from '../../platform/envelope';

export type ProviderSecret = 'access_token' | 'refresh_token' | 'oauth_client_secret';

const purpose = 'phobos-edge/vcs-providers/v1';
const utf8Decoder = new TextDecoder();

function providerEnvelope(config: PhobosConfig): Envelope {
  const secret = config.jwsProvider.keyEncryptionKey;
  if (!secret) {
    throw new AppError('SERVICE_UNAVAILABLE', 'VCS providers need PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_ENCRYPTION_KEY to encrypt their tokens');
  }
  return envelope(secret, purpose);
}

/** Fails before anything is asked of a provider when secrets could not be stored. */
export function requireSecretStorage(config: PhobosConfig): void {
  providerEnvelope(config);
}

export function sealSecret(config: PhobosConfig, providerId: string, which: ProviderSecret, value: string): Promise<string> {
  return providerEnvelope(config).seal(utf8Encode(value), `${providerId}/${which}`);
}

export async function openSecret(config: PhobosConfig, providerId: string, which: ProviderSecret, sealed: string): Promise<string> {
  return utf8Decoder.decode(await providerEnvelope(config).open(sealed, `${providerId}/${which}`));
}
