import { AwsClient, AwsV4Signer } from 'aws4fetch';
import { constants, createHash, createPublicKey, verify as cryptoVerify, webcrypto, type KeyObject } from 'node:crypto';
import { compactVerify, importSPKI } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeKms, type FakeKms } from '../fakes/kms';

const credentials = { accessKeyId: 'AKIAFAKEKMS000000001', secretAccessKey: 'fake/Secret+Key/for/tests', region: 'eu-west-1' };

let kms: FakeKms;
let client: AwsClient;

beforeAll(async () => {
  kms = await startFakeKms(credentials);
  client = new AwsClient({ ...credentials, service: 'kms', retries: 0 });
});

afterAll(async () => {
  await kms.close();
});

// ---------------------------------------------------------------------------------------------
// Helpers

const sha256Hex = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

interface KmsAnswer {
  status: number;
  headers: Headers;
  raw: string;
  body: any;
}

async function answer(response: Response): Promise<KmsAnswer> {
  const raw = await response.text();
  return { status: response.status, headers: response.headers, raw, body: raw ? JSON.parse(raw) : undefined };
}

function kmsRequest(operation: string, payload: unknown, extraHeaders: Record<string, string> = {}) {
  const body = JSON.stringify(payload);
  return {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-amz-json-1.1',
      'X-Amz-Target': `TrentService.${operation}`,
      'X-Amz-Content-Sha256': sha256Hex(body),
      ...extraHeaders,
    },
    body,
  };
}

/** One KMS call signed by aws4fetch's AwsClient. */
async function call(operation: string, payload: unknown, using: AwsClient = client, url = `${kms.url}/`): Promise<KmsAnswer> {
  return answer(await using.fetch(url, kmsRequest(operation, payload)));
}

async function ok(operation: string, payload: unknown) {
  const result = await call(operation, payload);
  if (result.status !== 200) throw new Error(`${operation} failed: ${result.status} ${result.raw}`);
  return result.body;
}

function expectKmsError(result: KmsAnswer, type: string, status = 400, message?: string | RegExp) {
  expect({ status: result.status, type: result.body?.__type }).toEqual({ status, type });
  expect(result.headers.get('x-amzn-errortype')).toBe(type);
  expect(result.headers.get('content-type')).toBe('application/x-amz-json-1.1');
  expect(typeof result.body.message).toBe('string');
  if (message !== undefined) expect(result.body.message).toMatch(message);
}

/** A request signed by AwsClient, returned as parts so a test can tamper with them before sending. */
async function signedParts(operation: string, payload: unknown, extraHeaders: Record<string, string> = {}) {
  const request = await client.sign(`${kms.url}/`, kmsRequest(operation, payload, extraHeaders));
  return { headers: new Headers(request.headers), body: await request.text() };
}

const send = async (headers: Headers, body: string, url = `${kms.url}/`) => answer(await fetch(url, { method: 'POST', headers, body }));

/** ECDSA-Sig-Value (DER SEQUENCE of two INTEGERs) to the JOSE form r || s, each `size` bytes. */
function derToJose(der: Buffer, size: number): Buffer {
  let offset = 0;
  const readLength = () => {
    let length = der[offset++]!;
    if (length & 0x80) {
      const count = length & 0x7f;
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + der[offset++]!;
    }
    return length;
  };
  if (der[offset++] !== 0x30) throw new Error('not a DER SEQUENCE');
  const sequenceLength = readLength();
  if (offset + sequenceLength !== der.length) throw new Error('DER SEQUENCE length does not cover the signature');
  const readInteger = () => {
    if (der[offset++] !== 0x02) throw new Error('not a DER INTEGER');
    const length = readLength();
    let value = der.subarray(offset, offset + length);
    offset += length;
    while (value.length > 1 && value[0] === 0) value = value.subarray(1);
    if (value.length > size) throw new Error('DER INTEGER longer than the curve size');
    return Buffer.concat([Buffer.alloc(size - value.length), value]);
  };
  const r = readInteger();
  const s = readInteger();
  if (offset !== der.length) throw new Error('trailing bytes after the DER signature');
  return Buffer.concat([r, s]);
}

const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');

// ---------------------------------------------------------------------------------------------

describe('keys, aliases and tags', () => {
  let rsa: { KeyId: string; Arn: string };
  let ec: { KeyId: string; Arn: string };

  beforeAll(async () => {
    rsa = (
      await ok('CreateKey', {
        KeySpec: 'RSA_2048',
        KeyUsage: 'SIGN_VERIFY',
        Description: 'JWT signing (RSA)',
        Tags: [
          { TagKey: 'app', TagValue: 'phobos' },
          { TagKey: 'purpose', TagValue: 'jwt' },
        ],
      })
    ).KeyMetadata;
    ec = (
      await ok('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Tags: [{ TagKey: 'app', TagValue: 'phobos' }] })
    ).KeyMetadata;
    await ok('CreateAlias', { AliasName: 'alias/phobos-rsa', TargetKeyId: rsa.KeyId });
    await ok('CreateAlias', { AliasName: 'alias/phobos-ec', TargetKeyId: ec.Arn });
  });

  it('CreateKey answers KeyMetadata with the documented fields', async () => {
    const result = await call('CreateKey', { KeySpec: 'ECC_NIST_P384', KeyUsage: 'SIGN_VERIFY', Description: 'p384' });
    expect(result.status).toBe(200);
    expect(result.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(result.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    const metadata = result.body.KeyMetadata;
    expect(metadata).toEqual({
      AWSAccountId: '111122223333',
      KeyId: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      Arn: `arn:aws:kms:eu-west-1:111122223333:key/${metadata.KeyId}`,
      CreationDate: expect.any(Number),
      Enabled: true,
      Description: 'p384',
      KeyUsage: 'SIGN_VERIFY',
      KeyState: 'Enabled',
      Origin: 'AWS_KMS',
      KeyManager: 'CUSTOMER',
      CustomerMasterKeySpec: 'ECC_NIST_P384',
      KeySpec: 'ECC_NIST_P384',
      SigningAlgorithms: ['ECDSA_SHA_384'],
      MultiRegion: false,
    });
    // Epoch seconds, as the JSON protocol encodes timestamps.
    expect(Math.abs(metadata.CreationDate - Date.now() / 1000)).toBeLessThan(60);
  });

  it('an RSA key lists every RSA signing algorithm and a symmetric key is the default', async () => {
    const rsaMeta = (await ok('DescribeKey', { KeyId: rsa.KeyId })).KeyMetadata;
    expect(rsaMeta.SigningAlgorithms).toEqual([
      'RSASSA_PKCS1_V1_5_SHA_256',
      'RSASSA_PKCS1_V1_5_SHA_384',
      'RSASSA_PKCS1_V1_5_SHA_512',
      'RSASSA_PSS_SHA_256',
      'RSASSA_PSS_SHA_384',
      'RSASSA_PSS_SHA_512',
    ]);
    expect(rsaMeta.Description).toBe('JWT signing (RSA)');
    const symmetric = (await ok('CreateKey', {})).KeyMetadata;
    expect(symmetric).toMatchObject({ KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT', EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'], Description: '' });
    expect(symmetric.SigningAlgorithms).toBeUndefined();
    expectKmsError(await call('GetPublicKey', { KeyId: symmetric.KeyId }), 'UnsupportedOperationException');
    expectKmsError(
      await call('Sign', { KeyId: symmetric.KeyId, Message: Buffer.from('x').toString('base64'), SigningAlgorithm: 'ECDSA_SHA_256' }),
      'InvalidKeyUsageException',
    );
  });

  it('DescribeKey finds a key by key id, key ARN, alias name and alias ARN', async () => {
    for (const keyId of [ec.KeyId, ec.Arn, 'alias/phobos-ec', `arn:aws:kms:eu-west-1:111122223333:alias/phobos-ec`]) {
      const metadata = (await ok('DescribeKey', { KeyId: keyId })).KeyMetadata;
      expect(metadata.KeyId).toBe(ec.KeyId);
    }
    expectKmsError(await call('DescribeKey', { KeyId: 'alias/nope' }), 'NotFoundException', 400, /alias\/nope is not found/);
    expectKmsError(await call('DescribeKey', { KeyId: '00000000-0000-4000-8000-000000000000' }), 'NotFoundException', 400, /does not exist/);
    expectKmsError(await call('DescribeKey', { KeyId: 'not-a-key' }), 'NotFoundException');
    // An ARN of another region or account is another key.
    expectKmsError(await call('DescribeKey', { KeyId: ec.Arn.replace('eu-west-1', 'us-east-1') }), 'NotFoundException');
    expectKmsError(await call('DescribeKey', {}), 'ValidationException', 400, /Value null at 'keyId'/);
  });

  it('ListAliases lists the aliases with their ARNs and targets, and filters by key', async () => {
    const { Aliases, Truncated } = await ok('ListAliases', {});
    expect(Truncated).toBe(false);
    expect(Aliases).toEqual(
      expect.arrayContaining([
        {
          AliasName: 'alias/phobos-rsa',
          AliasArn: 'arn:aws:kms:eu-west-1:111122223333:alias/phobos-rsa',
          TargetKeyId: rsa.KeyId,
          CreationDate: expect.any(Number),
          LastUpdatedDate: expect.any(Number),
        },
        expect.objectContaining({ AliasName: 'alias/phobos-ec', TargetKeyId: ec.KeyId }),
      ]),
    );
    const forEc = await ok('ListAliases', { KeyId: ec.Arn });
    expect(forEc.Aliases.map((alias: { AliasName: string }) => alias.AliasName)).toEqual(['alias/phobos-ec']);

    const page = await ok('ListAliases', { Limit: 1 });
    expect(page).toMatchObject({ Truncated: true, NextMarker: expect.any(String) });
    const next = await ok('ListAliases', { Limit: 1, Marker: page.NextMarker });
    expect(next.Aliases[0].AliasName).not.toBe(page.Aliases[0].AliasName);

    expect(kms.keys.aliases()).toEqual(
      expect.arrayContaining([{ aliasName: 'alias/phobos-ec', aliasArn: 'arn:aws:kms:eu-west-1:111122223333:alias/phobos-ec', targetKeyId: ec.KeyId }]),
    );
    expect(kms.keys.get('alias/phobos-rsa')?.aliases).toEqual(['alias/phobos-rsa']);
  });

  it('CreateAlias answers 200 with an empty body, and rejects bad, reserved and duplicate names', async () => {
    const created = await call('CreateAlias', { AliasName: 'alias/phobos-ec-2', TargetKeyId: ec.KeyId });
    expect({ status: created.status, raw: created.raw }).toEqual({ status: 200, raw: '' });
    expectKmsError(await call('CreateAlias', { AliasName: 'phobos', TargetKeyId: ec.KeyId }), 'ValidationException', 400, /alias\//);
    expectKmsError(await call('CreateAlias', { AliasName: 'alias/with space', TargetKeyId: ec.KeyId }), 'ValidationException');
    expectKmsError(await call('CreateAlias', { AliasName: 'alias/aws/kms', TargetKeyId: ec.KeyId }), 'NotAuthorizedException');
    expectKmsError(await call('CreateAlias', { AliasName: 'alias/phobos-ec', TargetKeyId: rsa.KeyId }), 'AlreadyExistsException');
    expectKmsError(await call('CreateAlias', { AliasName: 'alias/x', TargetKeyId: '00000000-0000-4000-8000-000000000000' }), 'NotFoundException');
    expect(kms.keys.get('alias/phobos-ec')?.keyId).toBe(ec.KeyId);
    expect((await call('DeleteAlias', { AliasName: 'alias/phobos-ec-2' })).status).toBe(200);
    expectKmsError(await call('DeleteAlias', { AliasName: 'alias/phobos-ec-2' }), 'NotFoundException');
  });

  it('ListResourceTags and TagResource read and change the tags', async () => {
    expect(await ok('ListResourceTags', { KeyId: rsa.KeyId })).toEqual({
      Tags: [
        { TagKey: 'app', TagValue: 'phobos' },
        { TagKey: 'purpose', TagValue: 'jwt' },
      ],
      Truncated: false,
    });
    const tagged = await call('TagResource', { KeyId: ec.Arn, Tags: [{ TagKey: 'app', TagValue: 'edge' }, { TagKey: 'env', TagValue: '' }] });
    expect({ status: tagged.status, raw: tagged.raw }).toEqual({ status: 200, raw: '' });
    expect((await ok('ListResourceTags', { KeyId: ec.KeyId })).Tags).toEqual([
      { TagKey: 'app', TagValue: 'edge' },
      { TagKey: 'env', TagValue: '' },
    ]);
    expect(kms.keys.tags(ec.KeyId)).toEqual({ app: 'edge', env: '' });
    expectKmsError(await call('TagResource', { KeyId: ec.KeyId, Tags: [{ TagKey: 'aws:owner', TagValue: 'x' }] }), 'TagException');
    // Tag operations take a key id or key ARN, not an alias.
    expectKmsError(await call('ListResourceTags', { KeyId: 'alias/phobos-ec' }), 'NotFoundException');
  });

  it('the inspection helpers see what the API did', () => {
    const listed = kms.keys.list();
    expect(listed.map((key) => key.keyId)).toEqual(expect.arrayContaining([rsa.KeyId, ec.KeyId]));
    expect(kms.keys.get(rsa.Arn)).toMatchObject({
      keyId: rsa.KeyId,
      keySpec: 'RSA_2048',
      keyUsage: 'SIGN_VERIFY',
      keyState: 'Enabled',
      description: 'JWT signing (RSA)',
      tags: { app: 'phobos', purpose: 'jwt' },
    });
    expect(kms.keys.get('alias/missing')).toBeUndefined();
    expect(kms.requests().some((entry) => entry.operation === 'CreateKey' && entry.status === 200)).toBe(true);
  });
});

describe('GetPublicKey and Sign with real cryptography', () => {
  const message = Buffer.from('header.payload — signed by the fake KMS');
  let rsaKeyId: string;
  let ecKeyId: string;
  let rsaPublic: KeyObject;
  let ecPublic: KeyObject;
  let rsaSpki: Buffer;
  let ecSpki: Buffer;

  beforeAll(async () => {
    rsaKeyId = (await ok('CreateKey', { KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY', Tags: [{ TagKey: 't', TagValue: 'v' }] })).KeyMetadata.KeyId;
    ecKeyId = (await ok('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata.KeyId;
    await ok('CreateAlias', { AliasName: 'alias/sign-rsa', TargetKeyId: rsaKeyId });
    await ok('CreateAlias', { AliasName: 'alias/sign-ec', TargetKeyId: ecKeyId });
  });

  async function signWith(keyId: string, algorithm: string, data: Buffer, messageType?: 'RAW' | 'DIGEST') {
    const result = await call('Sign', {
      KeyId: keyId,
      Message: data.toString('base64'),
      SigningAlgorithm: algorithm,
      ...(messageType ? { MessageType: messageType } : {}),
    });
    if (result.status !== 200) throw new Error(`Sign failed: ${result.raw}`);
    return result.body as { KeyId: string; Signature: string; SigningAlgorithm: string };
  }

  it('GetPublicKey answers a DER SubjectPublicKeyInfo in base64 with the key spec and algorithms', async () => {
    const rsa = await ok('GetPublicKey', { KeyId: 'alias/sign-rsa' });
    expect(rsa).toEqual({
      KeyId: `arn:aws:kms:eu-west-1:111122223333:key/${rsaKeyId}`,
      PublicKey: expect.stringMatching(/^[A-Za-z0-9+/]+=*$/),
      CustomerMasterKeySpec: 'RSA_2048',
      KeySpec: 'RSA_2048',
      KeyUsage: 'SIGN_VERIFY',
      SigningAlgorithms: expect.arrayContaining(['RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PSS_SHA_256']),
    });
    rsaSpki = Buffer.from(rsa.PublicKey, 'base64');
    rsaPublic = createPublicKey({ key: rsaSpki, format: 'der', type: 'spki' });
    expect(rsaPublic.asymmetricKeyType).toBe('rsa');
    expect(rsaPublic.asymmetricKeyDetails?.modulusLength).toBe(2048);

    const ec = await ok('GetPublicKey', { KeyId: ecKeyId });
    expect(ec).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', SigningAlgorithms: ['ECDSA_SHA_256'] });
    ecSpki = Buffer.from(ec.PublicKey, 'base64');
    ecPublic = createPublicKey({ key: ecSpki, format: 'der', type: 'spki' });
    expect(ecPublic.asymmetricKeyType).toBe('ec');
    expect(ecPublic.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(ecPublic.equals(kms.keys.publicKey(ecKeyId))).toBe(true);
    // WebCrypto takes the same SPKI bytes.
    await expect(webcrypto.subtle.importKey('spki', ecSpki, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify'])).resolves.toBeDefined();
  });

  it('RSASSA_PKCS1_V1_5_SHA_256: the signature verifies with node:crypto, WebCrypto and as an RS256 JWS', async () => {
    const before = kms.keys.signCount(rsaKeyId);
    const signed = await signWith('alias/sign-rsa', 'RSASSA_PKCS1_V1_5_SHA_256', message);
    expect(signed.KeyId).toBe(`arn:aws:kms:eu-west-1:111122223333:key/${rsaKeyId}`);
    expect(signed.SigningAlgorithm).toBe('RSASSA_PKCS1_V1_5_SHA_256');
    const signature = Buffer.from(signed.Signature, 'base64');
    expect(signature.length).toBe(256);
    expect(cryptoVerify('sha256', message, { key: rsaPublic, padding: constants.RSA_PKCS1_PADDING }, signature)).toBe(true);
    expect(cryptoVerify('sha256', Buffer.from('tampered'), { key: rsaPublic, padding: constants.RSA_PKCS1_PADDING }, signature)).toBe(false);
    const key = await webcrypto.subtle.importKey('spki', rsaSpki, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['verify']);
    expect(await webcrypto.subtle.verify('RSASSA-PKCS1-v1_5', key, signature, message)).toBe(true);
    expect(kms.keys.signCount(rsaKeyId)).toBe(before + 1);

    const signingInput = `${b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }))}.${b64url(JSON.stringify({ sub: 'kms' }))}`;
    const jwsSignature = Buffer.from((await signWith(rsaKeyId, 'RSASSA_PKCS1_V1_5_SHA_256', Buffer.from(signingInput))).Signature, 'base64');
    const verified = await compactVerify(`${signingInput}.${b64url(jwsSignature)}`, await importSPKI(rsaPublic.export({ type: 'spki', format: 'pem' }).toString(), 'RS256'));
    expect(JSON.parse(Buffer.from(verified.payload).toString())).toEqual({ sub: 'kms' });
  });

  it('RSASSA_PSS_SHA_256 signs with a 32-byte salt (WebCrypto RSA-PSS verifies it)', async () => {
    const signature = Buffer.from((await signWith(rsaKeyId, 'RSASSA_PSS_SHA_256', message)).Signature, 'base64');
    const key = await webcrypto.subtle.importKey('spki', rsaSpki, { name: 'RSA-PSS', hash: 'SHA-256' }, false, ['verify']);
    expect(await webcrypto.subtle.verify({ name: 'RSA-PSS', saltLength: 32 }, key, signature, message)).toBe(true);
    expect(await webcrypto.subtle.verify({ name: 'RSA-PSS', saltLength: 20 }, key, signature, message)).toBe(false);
    // PSS is randomised: a second signature differs but verifies too.
    const again = Buffer.from((await signWith(rsaKeyId, 'RSASSA_PSS_SHA_256', message)).Signature, 'base64');
    expect(again.equals(signature)).toBe(false);
    expect(await webcrypto.subtle.verify({ name: 'RSA-PSS', saltLength: 32 }, key, again, message)).toBe(true);
  });

  it('ECDSA_SHA_256 answers a DER signature; as JOSE r||s it verifies with WebCrypto and as an ES256 JWS', async () => {
    const signed = await signWith('alias/sign-ec', 'ECDSA_SHA_256', message);
    expect(signed.SigningAlgorithm).toBe('ECDSA_SHA_256');
    const der = Buffer.from(signed.Signature, 'base64');
    expect(der[0]).toBe(0x30);
    expect(der.length).toBeGreaterThanOrEqual(8);
    expect(der.length).toBeLessThanOrEqual(72);
    expect(cryptoVerify('sha256', message, { key: ecPublic, dsaEncoding: 'der' }, der)).toBe(true);

    const jose = derToJose(der, 32);
    expect(jose.length).toBe(64);
    expect(cryptoVerify('sha256', message, { key: ecPublic, dsaEncoding: 'ieee-p1363' }, jose)).toBe(true);
    const key = await webcrypto.subtle.importKey('spki', ecSpki, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    expect(await webcrypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, jose, message)).toBe(true);
    // WebCrypto (and JWS) cannot take the DER form as it is.
    expect(await webcrypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, der, message)).toBe(false);

    const signingInput = `${b64url(JSON.stringify({ alg: 'ES256', typ: 'JWT', kid: ecKeyId }))}.${b64url(JSON.stringify({ iss: 'phobos' }))}`;
    const jwsDer = Buffer.from((await signWith(ecKeyId, 'ECDSA_SHA_256', Buffer.from(signingInput))).Signature, 'base64');
    const jws = `${signingInput}.${b64url(derToJose(jwsDer, 32))}`;
    const verified = await compactVerify(jws, await importSPKI(ecPublic.export({ type: 'spki', format: 'pem' }).toString(), 'ES256'));
    expect(verified.protectedHeader).toEqual({ alg: 'ES256', typ: 'JWT', kid: ecKeyId });
    await expect(compactVerify(`${signingInput}.${b64url(jwsDer)}`, ecPublic)).rejects.toThrow();
  });

  it('MessageType DIGEST signs a precomputed hash: the signature verifies against the original message', async () => {
    const digest = createHash('sha256').update(message).digest();
    const pkcs1 = Buffer.from((await signWith(rsaKeyId, 'RSASSA_PKCS1_V1_5_SHA_256', digest, 'DIGEST')).Signature, 'base64');
    expect(cryptoVerify('sha256', message, { key: rsaPublic, padding: constants.RSA_PKCS1_PADDING }, pkcs1)).toBe(true);
    const raw = Buffer.from((await signWith(rsaKeyId, 'RSASSA_PKCS1_V1_5_SHA_256', message, 'RAW')).Signature, 'base64');
    expect(pkcs1.equals(raw)).toBe(true); // PKCS#1 v1.5 is deterministic

    const pss = Buffer.from((await signWith(rsaKeyId, 'RSASSA_PSS_SHA_256', digest, 'DIGEST')).Signature, 'base64');
    expect(
      cryptoVerify('sha256', message, { key: rsaPublic, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, pss),
    ).toBe(true);

    const digest512 = createHash('sha512').update(message).digest();
    const pss512 = Buffer.from((await signWith(rsaKeyId, 'RSASSA_PSS_SHA_512', digest512, 'DIGEST')).Signature, 'base64');
    expect(cryptoVerify('sha512', message, { key: rsaPublic, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 }, pss512)).toBe(true);
    const pkcs384 = Buffer.from(
      (await signWith(rsaKeyId, 'RSASSA_PKCS1_V1_5_SHA_384', createHash('sha384').update(message).digest(), 'DIGEST')).Signature,
      'base64',
    );
    expect(cryptoVerify('sha384', message, { key: rsaPublic, padding: constants.RSA_PKCS1_PADDING }, pkcs384)).toBe(true);

    const ecdsa = Buffer.from((await signWith(ecKeyId, 'ECDSA_SHA_256', digest, 'DIGEST')).Signature, 'base64');
    expect(cryptoVerify('sha256', message, { key: ecPublic, dsaEncoding: 'der' }, ecdsa)).toBe(true);
    expect(cryptoVerify('sha256', Buffer.from('other'), { key: ecPublic, dsaEncoding: 'der' }, ecdsa)).toBe(false);
  });

  it.each([
    ['ECC_NIST_P384', 'ECDSA_SHA_384', 'sha384', 48],
    ['ECC_NIST_P521', 'ECDSA_SHA_512', 'sha512', 66],
    ['ECC_SECG_P256K1', 'ECDSA_SHA_256', 'sha256', 32],
  ] as const)('%s signs RAW and DIGEST messages with %s', async (keySpec, algorithm, hash, size) => {
    const keyId = (await ok('CreateKey', { KeySpec: keySpec, KeyUsage: 'SIGN_VERIFY' })).KeyMetadata.KeyId;
    const publicKey = createPublicKey({ key: Buffer.from((await ok('GetPublicKey', { KeyId: keyId })).PublicKey, 'base64'), format: 'der', type: 'spki' });
    for (const [data, type] of [
      [message, 'RAW'],
      [createHash(hash).update(message).digest(), 'DIGEST'],
    ] as const) {
      const der = Buffer.from((await signWith(keyId, algorithm, data, type)).Signature, 'base64');
      expect(cryptoVerify(hash, message, { key: publicKey, dsaEncoding: 'der' }, der)).toBe(true);
      expect(cryptoVerify(hash, message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, derToJose(der, size))).toBe(true);
    }
  });

  it('RSA_3072 and RSA_4096 keys have the documented modulus sizes', async () => {
    for (const [keySpec, bits] of [['RSA_3072', 3072], ['RSA_4096', 4096]] as const) {
      const keyId = (await ok('CreateKey', { KeySpec: keySpec, KeyUsage: 'SIGN_VERIFY' })).KeyMetadata.KeyId;
      const publicKey = createPublicKey({ key: Buffer.from((await ok('GetPublicKey', { KeyId: keyId })).PublicKey, 'base64'), format: 'der', type: 'spki' });
      expect(publicKey.asymmetricKeyDetails?.modulusLength).toBe(bits);
      const digest = createHash('sha256').update(message).digest();
      const pss = Buffer.from((await signWith(keyId, 'RSASSA_PSS_SHA_256', digest, 'DIGEST')).Signature, 'base64');
      expect(pss.length).toBe(bits / 8);
      expect(cryptoVerify('sha256', message, { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, pss)).toBe(true);
    }
  });

  it('Sign rejects what KMS rejects', async () => {
    const before = kms.keys.signCount();
    const data = message.toString('base64');
    expectKmsError(await call('Sign', { KeyId: ecKeyId, Message: data, SigningAlgorithm: 'RSASSA_PSS_SHA_256' }), 'InvalidKeyUsageException');
    expectKmsError(await call('Sign', { KeyId: ecKeyId, Message: data, SigningAlgorithm: 'ECDSA_SHA_384' }), 'InvalidKeyUsageException');
    expectKmsError(await call('Sign', { KeyId: ecKeyId, Message: data, SigningAlgorithm: 'NOPE' }), 'ValidationException', 400, /enum value set/);
    expectKmsError(await call('Sign', { KeyId: ecKeyId, Message: data }), 'ValidationException', 400, /signingAlgorithm/);
    expectKmsError(await call('Sign', { KeyId: ecKeyId, SigningAlgorithm: 'ECDSA_SHA_256' }), 'ValidationException', 400, /message/);
    expectKmsError(
      await call('Sign', { KeyId: ecKeyId, Message: data, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }),
      'ValidationException',
      400,
      /Digest is invalid length/,
    );
    expectKmsError(
      await call('Sign', { KeyId: ecKeyId, Message: Buffer.alloc(4097).toString('base64'), SigningAlgorithm: 'ECDSA_SHA_256' }),
      'ValidationException',
      400,
      /4096/,
    );
    expectKmsError(await call('Sign', { KeyId: ecKeyId, Message: 'not base64!', SigningAlgorithm: 'ECDSA_SHA_256' }), 'SerializationException');
    expectKmsError(await call('Sign', { KeyId: 'alias/none', Message: data, SigningAlgorithm: 'ECDSA_SHA_256' }), 'NotFoundException');
    expectKmsError(
      await call('Sign', { KeyId: ecKeyId, Message: data, SigningAlgorithm: 'ECDSA_SHA_256', DryRun: true }),
      'DryRunOperationException',
      412,
    );
    expect(kms.keys.signCount()).toBe(before);
  });

  it('ScheduleKeyDeletion puts the key in PendingDeletion; Sign then fails with KMSInvalidStateException', async () => {
    const keyId = (await ok('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata.KeyId;
    const arn = `arn:aws:kms:eu-west-1:111122223333:key/${keyId}`;
    await ok('Sign', { KeyId: keyId, Message: message.toString('base64'), SigningAlgorithm: 'ECDSA_SHA_256' });
    const scheduled = await ok('ScheduleKeyDeletion', { KeyId: keyId, PendingWindowInDays: 7 });
    expect(scheduled).toEqual({ KeyId: arn, DeletionDate: expect.any(Number), KeyState: 'PendingDeletion', PendingWindowInDays: 7 });
    expect(scheduled.DeletionDate - Date.now() / 1000).toBeGreaterThan(6.9 * 86400);
    expect((await ok('DescribeKey', { KeyId: keyId })).KeyMetadata).toMatchObject({
      KeyState: 'PendingDeletion',
      Enabled: false,
      DeletionDate: scheduled.DeletionDate,
    });
    expectKmsError(
      await call('Sign', { KeyId: keyId, Message: message.toString('base64'), SigningAlgorithm: 'ECDSA_SHA_256' }),
      'KMSInvalidStateException',
      400,
      `${arn} is pending deletion.`,
    );
    expectKmsError(await call('GetPublicKey', { KeyId: keyId }), 'KMSInvalidStateException');
    expectKmsError(await call('ScheduleKeyDeletion', { KeyId: keyId }), 'KMSInvalidStateException');
    expectKmsError(await call('ScheduleKeyDeletion', { KeyId: ecKeyId, PendingWindowInDays: 3 }), 'ValidationException');
    expect(kms.keys.get(keyId)).toMatchObject({ keyState: 'PendingDeletion', signCount: 1 });

    // CancelKeyDeletion leaves it Disabled, as KMS does; EnableKey makes it usable again.
    expect(await ok('CancelKeyDeletion', { KeyId: keyId })).toEqual({ KeyId: arn });
    expectKmsError(
      await call('Sign', { KeyId: keyId, Message: message.toString('base64'), SigningAlgorithm: 'ECDSA_SHA_256' }),
      'DisabledException',
    );
    await ok('EnableKey', { KeyId: keyId });
    await ok('Sign', { KeyId: keyId, Message: message.toString('base64'), SigningAlgorithm: 'ECDSA_SHA_256' });
    expect(kms.keys.signCount(keyId)).toBe(2);
  });
});

describe('the AWS JSON 1.1 protocol', () => {
  it('an unknown X-Amz-Target is UnknownOperationException; an unimplemented KMS operation says so', async () => {
    expectKmsError(await call('Frobnicate', {}), 'UnknownOperationException');
    expectKmsError(await answer(await client.fetch(`${kms.url}/`, kmsRequest('x', {}, { 'X-Amz-Target': 'Other.DescribeKey' }))), 'UnknownOperationException');
    expectKmsError(await call('Encrypt', { KeyId: 'alias/x', Plaintext: 'AA==' }), 'UnsupportedOperationException', 400, /does not implement Encrypt/);
  });

  it('a body that is not JSON is SerializationException; a wrong Content-Type or path is refused', async () => {
    const body = '{not json';
    const bad = await client.fetch(`${kms.url}/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'TrentService.ListKeys', 'X-Amz-Content-Sha256': sha256Hex(body) },
      body,
    });
    expectKmsError(await answer(bad), 'SerializationException');
    const json = await client.fetch(`${kms.url}/`, kmsRequest('ListKeys', {}, { 'Content-Type': 'application/json' }));
    expect((await answer(json)).status).toBe(400);
    expect((await call('ListKeys', {}, client, `${kms.url}/other`)).status).toBe(400);
  });

  it('ListKeys lists key ids and ARNs', async () => {
    const { Keys, Truncated } = await ok('ListKeys', {});
    expect(Truncated).toBe(false);
    expect(Keys.length).toBe(kms.keys.list().length);
    expect(Keys[0]).toEqual({ KeyId: expect.any(String), KeyArn: `arn:aws:kms:eu-west-1:111122223333:key/${Keys[0].KeyId}` });
  });
});

describe('SigV4 verification', () => {
  const describeKey = { KeyId: 'alias/none' }; // authentic requests reach KMS and answer NotFoundException

  it('accepts AwsClient-signed requests, including a query string and collapsed header whitespace', async () => {
    const result = await answer(
      await client.fetch(`${kms.url}/?b=2&a=x%20y&a=1`, kmsRequest('DescribeKey', describeKey, { 'X-Extra-Signed': '  two   words ' })),
    );
    expectKmsError(result, 'NotFoundException');
  });

  it('rejects a request without Authorization with 403 MissingAuthenticationTokenException', async () => {
    const { body, headers } = kmsRequest('DescribeKey', describeKey);
    expectKmsError(await answer(await fetch(`${kms.url}/`, { method: 'POST', headers, body })), 'MissingAuthenticationTokenException', 403, 'Missing Authentication Token');
  });

  it('rejects an unknown access key id with UnrecognizedClientException', async () => {
    const stranger = new AwsClient({ ...credentials, accessKeyId: 'AKIAUNKNOWN000000000', service: 'kms', retries: 0 });
    expectKmsError(await call('DescribeKey', describeKey, stranger), 'UnrecognizedClientException', 400, 'The security token included in the request is invalid.');
  });

  it('rejects a wrong secret key with InvalidSignatureException and says what it expected', async () => {
    const wrong = new AwsClient({ ...credentials, secretAccessKey: 'not-the-secret', service: 'kms', retries: 0 });
    const result = await call('DescribeKey', describeKey, wrong);
    expectKmsError(result, 'InvalidSignatureException', 400, /^The request signature we calculated does not match the signature you provided/);
    expect(result.body.message).toContain('The Canonical String for this request should have been');
    expect(result.body.message).toContain('x-amz-target:TrentService.DescribeKey');
  });

  it('rejects a credential scoped to another region or service', async () => {
    const otherRegion = new AwsClient({ ...credentials, region: 'us-east-1', service: 'kms', retries: 0 });
    expectKmsError(await call('DescribeKey', describeKey, otherRegion), 'InvalidSignatureException', 400, /scoped to a valid region, not 'us-east-1'/);
    const otherService = new AwsClient({ ...credentials, service: 'sts', retries: 0 });
    expectKmsError(await call('DescribeKey', describeKey, otherService), 'InvalidSignatureException', 400, /scoped to correct service: 'kms'/);
  });

  it('rejects a missing x-amz-content-sha256 (unless the fake is told to be as lenient as KMS)', async () => {
    const body = JSON.stringify(describeKey);
    const init = { method: 'POST', headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'TrentService.DescribeKey' }, body };
    expectKmsError(await answer(await client.fetch(`${kms.url}/`, init)), 'InvalidSignatureException', 400, /x-amz-content-sha256/);

    const lenient = await startFakeKms({ ...credentials, requireContentSha256: false });
    try {
      expectKmsError(await answer(await client.fetch(`${lenient.url}/`, init)), 'NotFoundException');
      // Without the header the body hash is still in the signature: a changed body fails.
      const signed = await client.sign(`${lenient.url}/`, init);
      const tampered = await send(new Headers(signed.headers), JSON.stringify({ KeyId: 'alias/other' }), `${lenient.url}/`);
      expectKmsError(tampered, 'InvalidSignatureException', 400, /does not match the signature/);
    } finally {
      await lenient.close();
    }
  });

  it('rejects an x-amz-content-sha256 that does not match the body, signed or tampered', async () => {
    // Consistently signed, but the header hashes another body.
    const body = JSON.stringify(describeKey);
    const lying = await client.fetch(`${kms.url}/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'TrentService.DescribeKey', 'X-Amz-Content-Sha256': sha256Hex('{}') },
      body,
    });
    expectKmsError(await answer(lying), 'InvalidSignatureException', 400, /x-amz-content-sha256/);
    // Body changed in transit after signing.
    const { headers } = await signedParts('DescribeKey', describeKey);
    expectKmsError(await send(headers, JSON.stringify({ KeyId: 'alias/other' })), 'InvalidSignatureException', 400, /x-amz-content-sha256/);
    // Header and body both changed: the signature no longer matches.
    const both = await signedParts('DescribeKey', describeKey);
    const otherBody = JSON.stringify({ KeyId: 'alias/other' });
    both.headers.set('X-Amz-Content-Sha256', sha256Hex(otherBody));
    expectKmsError(await send(both.headers, otherBody), 'InvalidSignatureException', 400, /does not match the signature/);
    // Untouched, the same parts pass.
    const intact = await signedParts('DescribeKey', describeKey);
    expectKmsError(await send(intact.headers, intact.body), 'NotFoundException');
  });

  it('rejects a tampered signature, operation or unsigned x-amz-* header', async () => {
    const signature = await signedParts('DescribeKey', describeKey);
    const authorization = signature.headers.get('Authorization')!;
    const last = authorization.slice(-1);
    signature.headers.set('Authorization', authorization.slice(0, -1) + (last === '0' ? '1' : '0'));
    expectKmsError(await send(signature.headers, signature.body), 'InvalidSignatureException', 400, /does not match the signature/);

    const target = await signedParts('DescribeKey', describeKey);
    target.headers.set('X-Amz-Target', 'TrentService.ScheduleKeyDeletion');
    expectKmsError(await send(target.headers, target.body), 'InvalidSignatureException', 400, /does not match the signature/);

    const extra = await signedParts('DescribeKey', describeKey);
    extra.headers.set('X-Amz-Meta-Added', 'later');
    expectKmsError(await send(extra.headers, extra.body), 'InvalidSignatureException', 400, /x-amz-meta-added/);

    const noHost = await signedParts('DescribeKey', describeKey);
    noHost.headers.set('Authorization', noHost.headers.get('Authorization')!.replace('SignedHeaders=host;', 'SignedHeaders='));
    expectKmsError(await send(noHost.headers, noHost.body), 'InvalidSignatureException', 400, /'Host'/);
  });

  it('rejects a malformed Authorization header with IncompleteSignatureException', async () => {
    const parts = await signedParts('DescribeKey', describeKey);
    parts.headers.set('Authorization', parts.headers.get('Authorization')!.replace(/, Signature=[0-9a-f]+/, ''));
    expectKmsError(await send(parts.headers, parts.body), 'IncompleteSignatureException', 400, /requires 'Signature' parameter/);

    const noDate = await signedParts('DescribeKey', describeKey);
    noDate.headers.delete('X-Amz-Date');
    expectKmsError(await send(noDate.headers, noDate.body), 'IncompleteSignatureException', 400, /X-Amz-Date/);
  });

  async function signedAt(datetime: string, credentialDate = datetime.slice(0, 8)) {
    const body = JSON.stringify(describeKey);
    const signer = new AwsV4Signer({
      ...credentials,
      service: 'kms',
      url: `${kms.url}/`,
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'TrentService.DescribeKey', 'X-Amz-Content-Sha256': sha256Hex(body) },
      body,
      datetime,
    });
    const { headers } = await signer.sign();
    if (credentialDate !== datetime.slice(0, 8)) {
      headers.set('Authorization', headers.get('Authorization')!.replace(`/${datetime.slice(0, 8)}/`, `/${credentialDate}/`));
    }
    return send(headers, body);
  }

  const amzDate = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString().replace(/[:-]|\.\d{3}/g, '');

  it('rejects an X-Amz-Date more than 5 minutes off, either way, and accepts one within', async () => {
    expectKmsError(await signedAt(amzDate(-6 * 60_000)), 'InvalidSignatureException', 400, /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/);
    expectKmsError(await signedAt(amzDate(6 * 60_000)), 'InvalidSignatureException', 400, /^Signature not yet current: .* \+ 5 min\.\)$/);
    expectKmsError(await signedAt(amzDate(-4 * 60_000)), 'NotFoundException');
    expectKmsError(await signedAt(amzDate(4 * 60_000)), 'NotFoundException');
    expectKmsError(await signedAt(amzDate(0), '20200101'), 'InvalidSignatureException', 400, /Date in Credential scope does not match/);
  });

  it('with a session token configured, requires it', async () => {
    const withToken = await startFakeKms({ ...credentials, sessionToken: 'session-token-1' });
    try {
      const good = new AwsClient({ ...credentials, sessionToken: 'session-token-1', service: 'kms', retries: 0 });
      expectKmsError(await call('DescribeKey', describeKey, good, `${withToken.url}/`), 'NotFoundException');
      const wrong = new AwsClient({ ...credentials, sessionToken: 'session-token-2', service: 'kms', retries: 0 });
      expectKmsError(await call('DescribeKey', describeKey, wrong, `${withToken.url}/`), 'UnrecognizedClientException');
      expectKmsError(await call('DescribeKey', describeKey, client, `${withToken.url}/`), 'UnrecognizedClientException');
    } finally {
      await withToken.close();
    }
  });

  it('logs rejected requests for inspection', () => {
    const rejected = kms.requests().filter((entry) => entry.errorType === 'InvalidSignatureException');
    expect(rejected.length).toBeGreaterThan(5);
    expect(rejected.every((entry) => entry.status === 400)).toBe(true);
  });
});
