// The KMS fake against what the KMS JSON API documents: each operation's request and answer shape
// once, with real signatures, and the SigV4 check refusing what AWS would refuse.
import { AwsClient } from 'aws4fetch';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeKms, type FakeKms } from '../fakes/kms';

const credentials = { accessKeyId: 'AKIAFAKEKMS000000001', secretAccessKey: 'fake/Secret+Key/for/tests', region: 'eu-west-1' };
let kms: FakeKms;
const client = new AwsClient({ ...credentials, service: 'kms', retries: 0 });

beforeAll(async () => {
  kms = await startFakeKms(credentials);
});
afterAll(async () => {
  await kms.close();
});

const kmsInit = (operation: string, payload: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `TrentService.${operation}` },
  body: JSON.stringify(payload),
});

async function answer(response: Response) {
  const text = await response.text();
  // biome-ignore lint/suspicious/noExplicitAny: answers are read field by field; typing each operation's shape would restate the fake.
  const body = text ? (JSON.parse(text) as Record<string, any>) : undefined;
  return { status: response.status, type: response.headers.get('x-amzn-errortype'), body };
}

const call = async (operation: string, payload: unknown, using = client) => answer(await using.fetch(`${kms.url}/`, kmsInit(operation, payload)));

async function ok(operation: string, payload: unknown) {
  const result = await call(operation, payload);
  expect(result.status, JSON.stringify(result.body)).toBe(200);
  return result.body!;
}

/** A request signed by the right credentials, as headers and body a test can tamper with before sending. */
async function signed(operation: string, payload: unknown, aws: { datetime?: string } = {}, extraHeaders: Record<string, string> = {}) {
  const init = kmsInit(operation, payload);
  const request = await client.sign(`${kms.url}/`, { ...init, headers: { ...(init.headers as Record<string, string>), ...extraHeaders }, aws });
  return { headers: new Headers(request.headers), body: await request.text() };
}
const send = async (headers: Headers, body: string) => answer(await fetch(`${kms.url}/`, { method: 'POST', headers, body }));

describe('the four operations the provider calls', () => {
  it.each([
    ['ECC_NIST_P256', 'ECDSA_SHA_256', 'sha256'],
    ['ECC_NIST_P384', 'ECDSA_SHA_384', 'sha384'],
    ['RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_256', 'sha256'],
  ])('%s: CreateKey, CreateAlias, GetPublicKey and Sign (RAW and DIGEST) answer the documented shapes', async (keySpec, algorithm, hash) => {
    const tags = [{ TagKey: 'team', TagValue: 'platform' }];
    const { KeyMetadata } = await ok('CreateKey', { KeySpec: keySpec, KeyUsage: 'SIGN_VERIFY', Description: 'test key', Tags: tags });
    expect(KeyMetadata).toMatchObject({
      KeySpec: keySpec,
      KeyUsage: 'SIGN_VERIFY',
      KeyState: 'Enabled',
      Enabled: true,
      Description: 'test key',
      SigningAlgorithms: expect.arrayContaining([algorithm]),
    });
    expect(KeyMetadata.Arn).toBe(`arn:aws:kms:eu-west-1:111122223333:key/${KeyMetadata.KeyId}`);
    expect(kms.keys.tags(KeyMetadata.KeyId)).toEqual({ team: 'platform' });

    const aliasName = `alias/test-${keySpec.toLowerCase()}`;
    expect(await call('CreateAlias', { AliasName: aliasName, TargetKeyId: KeyMetadata.KeyId })).toEqual({ status: 200, type: null, body: undefined });
    expect(kms.keys.aliases()).toContainEqual({ aliasName, targetKeyId: KeyMetadata.KeyId });

    const publicKey = await ok('GetPublicKey', { KeyId: aliasName });
    expect(publicKey).toMatchObject({ KeyId: KeyMetadata.Arn, KeySpec: keySpec, KeyUsage: 'SIGN_VERIFY' });
    const spki = createPublicKey({ key: Buffer.from(publicKey.PublicKey, 'base64'), format: 'der', type: 'spki' });

    const message = Buffer.from('header.payload');
    const signsBefore = kms.keys.signCount();
    for (const [messageType, sent] of [
      ['RAW', message],
      ['DIGEST', createHash(hash).update(message).digest()],
    ] as const) {
      const signature = await ok('Sign', { KeyId: KeyMetadata.Arn, Message: sent.toString('base64'), MessageType: messageType, SigningAlgorithm: algorithm });
      expect(signature).toMatchObject({ KeyId: KeyMetadata.Arn, SigningAlgorithm: algorithm });
      // Both verify against the original message: ECDSA signatures in DER, as KMS returns them.
      expect(verify(hash, message, { key: spki, dsaEncoding: 'der' }, Buffer.from(signature.Signature, 'base64')), messageType).toBe(true);
    }
    expect(kms.keys.signCount()).toBe(signsBefore + 2);
  });

  it('answers KMS errors as {__type, message} with x-amzn-ErrorType', async () => {
    const { KeyMetadata } = await ok('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    await ok('CreateAlias', { AliasName: 'alias/taken', TargetKeyId: KeyMetadata.KeyId });
    const cases: [string, unknown, string, RegExp][] = [
      ['CreateAlias', { AliasName: 'alias/taken', TargetKeyId: KeyMetadata.KeyId }, 'AlreadyExistsException', /already exists/],
      ['CreateAlias', { AliasName: 'no-prefix', TargetKeyId: KeyMetadata.KeyId }, 'ValidationException', /must start with alias\//],
      ['GetPublicKey', { KeyId: 'alias/none' }, 'NotFoundException', /does not exist/],
      [
        'Sign',
        { KeyId: KeyMetadata.KeyId, Message: 'AA==' },
        'ValidationException',
        /'signingAlgorithm' failed to satisfy constraint: Member must not be null/,
      ],
      ['Sign', { KeyId: KeyMetadata.KeyId, Message: 'AA==', SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' }, 'InvalidKeyUsageException', /not compatible/],
      [
        'Sign',
        { KeyId: KeyMetadata.KeyId, Message: 'AA==', MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' },
        'ValidationException',
        /Digest is invalid length/,
      ],
      ['CreateKey', { KeySpec: 'SYMMETRIC_DEFAULT' }, 'ValidationException', /creates only RSA_2048/],
      ['Encrypt', {}, 'UnknownOperationException', /answers CreateKey, CreateAlias, GetPublicKey, Sign/],
    ];
    for (const [operation, payload, type, message] of cases) {
      const result = await call(operation, payload);
      expect({ status: result.status, type: result.type, __type: result.body?.__type }, operation).toEqual({ status: 400, type, __type: type });
      expect(result.body!.message).toMatch(message);
    }
  });
});

describe('SigV4', () => {
  const probe = { KeyId: 'alias/none' }; // an authentic request gets as far as NotFoundException

  it('accepts a request signed with the configured credentials', async () => {
    expect((await call('GetPublicKey', probe)).type).toBe('NotFoundException');
  });

  it('refuses what AWS refuses', async () => {
    const expectRefused = async (result: Awaited<ReturnType<typeof answer>>, type: string, message: RegExp, status = 400) => {
      expect({ status: result.status, type: result.body?.__type }).toEqual({ status, type });
      expect(result.body!.message).toMatch(message);
    };
    const unsigned = kmsInit('GetPublicKey', probe);
    await expectRefused(await answer(await fetch(`${kms.url}/`, unsigned)), 'MissingAuthenticationTokenException', /Missing Authentication Token/, 403);
    const stranger = new AwsClient({ ...credentials, accessKeyId: 'AKIASTRANGER', service: 'kms', retries: 0 });
    await expectRefused(await call('GetPublicKey', probe, stranger), 'UnrecognizedClientException', /security token included in the request is invalid/);
    const wrongSecret = new AwsClient({ ...credentials, secretAccessKey: 'not-the-secret', service: 'kms', retries: 0 });
    await expectRefused(await call('GetPublicKey', probe, wrongSecret), 'InvalidSignatureException', /signature we calculated does not match/);
    const otherRegion = new AwsClient({ ...credentials, region: 'us-east-1', service: 'kms', retries: 0 });
    await expectRefused(await call('GetPublicKey', probe, otherRegion), 'InvalidSignatureException', /not 'us-east-1\/kms'/);

    const tamperedBody = await signed('GetPublicKey', probe);
    await expectRefused(await send(tamperedBody.headers, JSON.stringify({ KeyId: 'alias/other' })), 'InvalidSignatureException', /does not match/);
    const replayedAsSign = await signed('GetPublicKey', probe);
    replayedAsSign.headers.set('x-amz-target', 'TrentService.Sign');
    await expectRefused(await send(replayedAsSign.headers, replayedAsSign.body), 'InvalidSignatureException', /does not match/);
    const extraHeader = await signed('GetPublicKey', probe);
    extraHeader.headers.set('x-amz-security-token', 'smuggled');
    await expectRefused(await send(extraHeader.headers, extraHeader.body), 'InvalidSignatureException', /'x-amz-security-token' must be a 'SignedHeader'/);
    // A signed body hash that is not the body's: the signature alone would not catch it.
    const badHash = await signed('GetPublicKey', probe, {}, { 'x-amz-content-sha256': createHash('sha256').update('other').digest('hex') });
    await expectRefused(await send(badHash.headers, badHash.body), 'InvalidSignatureException', /'x-amz-content-sha256' header does not match/);
    const stale = new Date(Date.now() - 10 * 60 * 1000).toISOString().replace(/[:-]|\.\d{3}/g, '');
    const old = await signed('GetPublicKey', probe, { datetime: stale });
    await expectRefused(await send(old.headers, old.body), 'InvalidSignatureException', /Signature expired/);
    const mangled = await signed('GetPublicKey', probe);
    mangled.headers.set('authorization', mangled.headers.get('authorization')!.replace('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA1'));
    await expectRefused(await send(mangled.headers, mangled.body), 'IncompleteSignatureException', /not an AWS4-HMAC-SHA256 signature/);

    expect(kms.requests().filter((request) => request.errorType === 'InvalidSignatureException').length).toBeGreaterThanOrEqual(6);
  });
});
