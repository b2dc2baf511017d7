// The `awskms` JWS provider: keys are created in AWS KMS and never leave it; tokens are signed with
// the KMS Sign API (AWS JSON 1.1 over HTTPS, SigV4-signed by aws4fetch, since the AWS SDK does not
// fit a Worker bundle). Region, key spec, alias prefix and tags come from
// PHOBOS_JWS_PROVIDER_PLUGIN_DATA_*.
import { AwsClient } from 'aws4fetch';
import type { PhobosConfig } from '../../config/load';
import type { SigningKey } from '../../db/schema';
import { AppError } from '../../errors';
import { base64Decode, base64Encode } from '../../platform/encoding';
import { newKeyId, type JwsAlgorithm, type JwsProvider, type NewSigningKey } from './provider';

type KeySpec = PhobosConfig['jwsProvider']['keySpec'];

const algorithms: Record<KeySpec, { jws: JwsAlgorithm; kms: string; importParams: { name: string; hash?: string; namedCurve?: string }; size?: number }> = {
  RSA_2048: { jws: 'RS256', kms: 'RSASSA_PKCS1_V1_5_SHA_256', importParams: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } },
  RSA_3072: { jws: 'RS256', kms: 'RSASSA_PKCS1_V1_5_SHA_256', importParams: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } },
  RSA_4096: { jws: 'RS256', kms: 'RSASSA_PKCS1_V1_5_SHA_256', importParams: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } },
  ECC_NIST_P256: { jws: 'ES256', kms: 'ECDSA_SHA_256', importParams: { name: 'ECDSA', namedCurve: 'P-256' }, size: 32 },
  ECC_NIST_P384: { jws: 'ES384', kms: 'ECDSA_SHA_384', importParams: { name: 'ECDSA', namedCurve: 'P-384' }, size: 48 },
};

/**
 * KMS returns ECDSA signatures DER-encoded (SEQUENCE of two INTEGERs); JWS wants the fixed-width
 * concatenation r || s (RFC 7518 §3.4).
 */
function derToJoseSignature(der: Uint8Array, size: number): Uint8Array {
  let offset = 2;
  if (der[1]! & 0x80) offset += der[1]! & 0x7f;
  const out = new Uint8Array(size * 2);
  for (let part = 0; part < 2; part++) {
    if (der[offset] !== 0x02) throw new Error('invalid DER signature');
    const length = der[offset + 1]!;
    let integer = der.subarray(offset + 2, offset + 2 + length);
    while (integer.length > size && integer[0] === 0) integer = integer.subarray(1);
    out.set(integer, part * size + (size - integer.length));
    offset += 2 + length;
  }
  return out;
}

export function createKmsProvider(config: PhobosConfig['jwsProvider']): JwsProvider {
  const region = config.region ?? '';
  const endpoint = config.endpoint ?? `https://kms.${region}.amazonaws.com`;
  const spec = algorithms[config.keySpec];
  const client = new AwsClient({
    accessKeyId: config.accessKeyId ?? '',
    secretAccessKey: config.secretAccessKey ?? '',
    service: 'kms',
    region,
  });

  async function call<T>(operation: string, body: Record<string, unknown>): Promise<T> {
    const response = await client.fetch(`${endpoint}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `TrentService.${operation}` },
      body: JSON.stringify(body),
    });
    const payload = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok) {
      const type = String(payload.__type ?? response.headers.get('x-amzn-errortype') ?? response.status);
      throw new AppError('SERVICE_UNAVAILABLE', `KMS ${operation} failed: ${type.split('#').pop()}`, {
        details: { kmsError: type },
      });
    }
    return payload as T;
  }

  return {
    type: 'awskms',
    async createKey(): Promise<NewSigningKey> {
      const kid = newKeyId();
      const created = await call<{ KeyMetadata: { KeyId: string } }>('CreateKey', {
        KeySpec: config.keySpec,
        KeyUsage: 'SIGN_VERIFY',
        Description: `Phobos Edge token signing key ${kid}`,
        Tags: Object.entries(config.tags).map(([TagKey, TagValue]) => ({ TagKey, TagValue })),
      });
      const keyId = created.KeyMetadata.KeyId;
      await call('CreateAlias', { AliasName: `alias/${config.aliasPrefix}-${kid}`, TargetKeyId: keyId });
      const { PublicKey } = await call<{ PublicKey: string }>('GetPublicKey', { KeyId: keyId });
      const publicKey = await crypto.subtle.importKey('spki', base64Decode(PublicKey), spec.importParams, true, ['verify']);
      const { kty, n, e, crv, x, y } = (await crypto.subtle.exportKey('jwk', publicKey)) as JsonWebKey;
      const publicJwk = kty === 'RSA' ? { kty, n, e } : { kty, crv, x, y };
      return { kid, algorithm: spec.jws, publicJwk, kmsKeyId: keyId };
    },
    async sign(key: SigningKey, signingInput: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
      const keySpec = (Object.keys(algorithms) as KeySpec[]).find((name) => algorithms[name].jws === key.algorithm) ?? config.keySpec;
      const algorithm = algorithms[keySpec];
      // KMS signs RAW messages up to 4096 bytes; longer inputs are sent as their digest.
      const raw = signingInput.length <= 4096;
      const hash = algorithm.kms.endsWith('384') ? 'SHA-384' : 'SHA-256';
      const message = raw ? signingInput : new Uint8Array(await crypto.subtle.digest(hash, signingInput));
      const { Signature } = await call<{ Signature: string }>('Sign', {
        KeyId: key.kmsKeyId,
        Message: base64Encode(message),
        MessageType: raw ? 'RAW' : 'DIGEST',
        SigningAlgorithm: algorithm.kms,
      });
      const der = base64Decode(Signature);
      return algorithm.size ? derToJoseSignature(der, algorithm.size) : der;
    },
  };
}
