// A webhook's signing secret: made by us (32 random bytes, `whsec_` and base64url, so it is
// recognisable when leaked), shown once by the create or rotate that made it, stored sealed with
// the installation's envelope key and bound to its webhook, so a ciphertext copied to another row
// does not open. Deliveries sign with it (signature.ts).
import type { PhobosConfig } from '../../config/load';
import { AppError } from '../../errors';
import { base64urlEncode, utf8Encode } from '../../platform/encoding';
import { envelope, type Envelope } from '../../platform/envelope';

const purpose = 'phobos-edge/webhooks/v1';

function webhookEnvelope(config: Pick<PhobosConfig, 'jwsProvider'>): Envelope {
  const secret = config.jwsProvider.keyEncryptionKey;
  if (!secret) throw new AppError('SERVICE_UNAVAILABLE', 'Webhooks need PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_ENCRYPTION_KEY to encrypt their signing secrets');
  return envelope(secret, purpose);
}

export const generateWebhookSecret = () => `whsec_${base64urlEncode(crypto.getRandomValues(new Uint8Array(32)))}`;

export function sealWebhookSecret(config: Pick<PhobosConfig, 'jwsProvider'>, webhookId: string, secret: string): Promise<string> {
  return webhookEnvelope(config).seal(utf8Encode(secret), webhookId);
}

export async function openWebhookSecret(config: Pick<PhobosConfig, 'jwsProvider'>, webhookId: string, sealed: string): Promise<string> {
  return new TextDecoder().decode(await webhookEnvelope(config).open(sealed, webhookId));
}
