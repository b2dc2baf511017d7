// A fake AWS KMS for tests (no KMS emulator installs here). It answers the four operations the awskms
// signing provider calls — CreateKey, CreateAlias, GetPublicKey, Sign — in the KMS JSON API's wire
// shapes (`POST /`, `X-Amz-Target: TrentService.<Operation>`, `application/x-amz-json-1.1`, blobs
// in base64, errors as `{"__type": "...", "message": "..."}`), and refuses any request whose SigV4
// signature is not the one its credentials give, so a client that signs wrongly fails here as it
// would against AWS. Keys are real node:crypto key pairs; ECDSA signatures are DER, as KMS returns them.
import { AwsV4Signer } from 'aws4fetch';
import { createECDH, createHash, generateKeyPair, privateEncrypt, randomBytes, randomUUID, sign, timingSafeEqual, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { listenOn, readBody } from '../../scripts/local-stack/http-json';

export interface FakeKmsOptions {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

export interface FakeKmsRequest {
  /** The X-Amz-Target operation, or '' when there was none. */
  operation: string;
  status: number;
  /** The `__type` of an error answer. */
  errorType?: string;
}

export interface FakeKms {
  url: string;
  close(): Promise<void>;
  keys: {
    aliases(): { aliasName: string; targetKeyId: string }[];
    tags(keyId: string): Record<string, string>;
    /** Successful Sign calls over all keys. */
    signCount(): number;
  };
  /** Every request answered so far, in order, refused ones included. */
  requests(): FakeKmsRequest[];
}

class KmsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const missing = (member: string) =>
  new KmsError('ValidationException', `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`);

type Hash = 'sha256' | 'sha384';
interface Spec {
  algorithms: Record<string, Hash>;
  generate: () => Promise<{ privateKey: KeyObject; publicKey: KeyObject }>;
  /** ECDSA only: the curve (OpenSSL name), its order and its size in bytes. */
  curve?: { name: string; order: bigint; size: number };
}

const generate = promisify(generateKeyPair);
const rsa = (modulusLength: number): Spec => ({
  // KMS offers RSASSA_PSS_* too; the provider uses PKCS #1 v1.5 only, so the fake signs only that.
  algorithms: { RSASSA_PKCS1_V1_5_SHA_256: 'sha256', RSASSA_PKCS1_V1_5_SHA_384: 'sha384' },
  generate: () => generate('rsa', { modulusLength }),
});
// The key specs the provider can be configured with (PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_SPEC).
const SPECS: Record<string, Spec> = {
  RSA_2048: rsa(2048),
  RSA_3072: rsa(3072),
  RSA_4096: rsa(4096),
  ECC_NIST_P256: {
    algorithms: { ECDSA_SHA_256: 'sha256' },
    generate: () => generate('ec', { namedCurve: 'P-256' }),
    curve: { name: 'prime256v1', order: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n, size: 32 },
  },
  ECC_NIST_P384: {
    algorithms: { ECDSA_SHA_384: 'sha384' },
    generate: () => generate('ec', { namedCurve: 'P-384' }),
    curve: {
      name: 'secp384r1',
      order: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
      size: 48,
    },
  },
};

// DigestInfo prefixes (RFC 8017 §9.2 note 1), for PKCS #1 v1.5 over a digest the client already computed.
const DIGEST_INFO: Record<Hash, string> = { sha256: '3031300d060960864801650304020105000420', sha384: '3041300d060960864801650304020205000430' };

const toBigint = (bytes: Uint8Array) => BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);
function derInteger(value: bigint): Buffer {
  const hex = value.toString(16);
  const bytes = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
  const body = bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
  return Buffer.concat([Buffer.from([0x02, body.length]), body]);
}
function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  for (let b = base % modulus, e = exponent; e > 0n; e >>= 1n, b = (b * b) % modulus) if (e & 1n) result = (result * b) % modulus;
  return result;
}

/** ECDSA over a given digest (SEC 1 §4.1.3): node:crypto always hashes what it signs, so k·G comes from ECDH. */
function ecdsaOverDigest(privateKey: KeyObject, curve: NonNullable<Spec['curve']>, digest: Buffer): Buffer {
  const d = toBigint(Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url'));
  const { order: n, size } = curve;
  for (;;) {
    const k = toBigint(randomBytes(size + 8)) % n;
    if (k === 0n) continue;
    const ecdh = createECDH(curve.name);
    ecdh.setPrivateKey(Buffer.from(k.toString(16).padStart(size * 2, '0'), 'hex'));
    const r = toBigint(ecdh.getPublicKey().subarray(1, 1 + size)) % n;
    const s = (modPow(k, n - 2n, n) * ((toBigint(digest) + r * d) % n)) % n;
    if (r === 0n || s === 0n) continue;
    const body = Buffer.concat([derInteger(r), derInteger(s)]);
    return Buffer.concat([Buffer.from([0x30, body.length]), body]); // at most 102 bytes for P-384: a one-byte length
  }
}

const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

/**
 * Recomputes the request's SigV4 signature with the configured credentials (aws4fetch builds the
 * canonical request from the headers the client says it signed) and throws what KMS would answer.
 */
async function verifySigV4(req: IncomingMessage, body: string, options: FakeKmsOptions): Promise<void> {
  const authorization = req.headers.authorization;
  if (!authorization) throw new KmsError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403);
  const parts = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
    authorization,
  );
  if (!parts) throw new KmsError('IncompleteSignatureException', `Authorization header is not an AWS4-HMAC-SHA256 signature: '${authorization}'.`);
  const [, accessKeyId, scopeDate, region, service, signedHeaders, signature] = parts as unknown as string[];
  if (accessKeyId !== options.accessKeyId) throw new KmsError('UnrecognizedClientException', 'The security token included in the request is invalid.');
  if (region !== options.region || service !== 'kms') {
    throw new KmsError('InvalidSignatureException', `Credential should be scoped to region '${options.region}' and service 'kms', not '${region}/${service}'.`);
  }
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const time = Date.parse(amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'));
  if (!/^\d{8}T\d{6}Z$/.test(amzDate) || Number.isNaN(time) || scopeDate !== amzDate.slice(0, 8)) {
    throw new KmsError('IncompleteSignatureException', `X-Amz-Date must be an ISO 8601 basic date matching the credential scope, got '${amzDate}'.`);
  }
  if (Math.abs(Date.now() - time) > MAX_CLOCK_SKEW_MS)
    throw new KmsError('InvalidSignatureException', `Signature expired: ${amzDate} is more than 5 minutes from now.`);
  const signed = signedHeaders!.split(';');
  // The target is signed so a captured request cannot be replayed as another operation.
  const mustSign = ['host', 'x-amz-target', ...Object.keys(req.headers).filter((name) => name.startsWith('x-amz-'))];
  for (const name of mustSign) {
    if (!signed.includes(name))
      throw new KmsError('InvalidSignatureException', `The request header '${name}' must be a 'SignedHeader' in the AWS Authorization.`);
  }
  const bodyHash = req.headers['x-amz-content-sha256'];
  if (bodyHash !== undefined && bodyHash !== createHash('sha256').update(body).digest('hex')) {
    throw new KmsError('InvalidSignatureException', "The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  const headers = new Headers();
  for (const name of signed) if (name !== 'host') headers.set(name, String(req.headers[name] ?? ''));
  const expected = new AwsV4Signer({
    method: req.method!,
    url: `http://${req.headers.host}${req.url}`,
    headers,
    body,
    ...options,
    service: 'kms',
    datetime: amzDate,
    allHeaders: true,
  });
  const given = Buffer.from(signature!);
  const computed = Buffer.from(await expected.signature());
  if (expected.signedHeaders !== signedHeaders || !timingSafeEqual(given, computed)) {
    throw new KmsError(
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    );
  }
}

interface StoredKey {
  keyId: string;
  arn: string;
  keySpec: string;
  description: string;
  created: Date;
  tags: Record<string, string>;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

type Json = Record<string, unknown>;

export async function startFakeKms(options: FakeKmsOptions): Promise<FakeKms> {
  const accountId = '111122223333'; // AWS's documentation account
  const keys = new Map<string, StoredKey>();
  const aliases = new Map<string, string>();
  const log: FakeKmsRequest[] = [];
  let signCount = 0;

  const text = (body: Json, member: string, required: boolean): string | undefined => {
    const value = body[member];
    if (value === undefined || value === null) {
      if (required) throw missing(member.charAt(0).toLowerCase() + member.slice(1));
      return undefined;
    }
    if (typeof value !== 'string') throw new KmsError('SerializationException', `${member} must be a string.`);
    return value;
  };
  /** A key by key id, key ARN, alias name or alias ARN, as GetPublicKey and Sign accept. */
  const findKey = (identifier: string): StoredKey => {
    const resource = identifier.startsWith('arn:')
      ? identifier
          .split(':')
          .slice(5)
          .join(':')
          .replace(/^key\//, '')
      : identifier;
    const key = keys.get(aliases.get(resource) ?? resource);
    if (!key) throw new KmsError('NotFoundException', `Key '${identifier}' does not exist`);
    return key;
  };

  const operations: Record<string, (body: Json) => Promise<Json | undefined> | Json | undefined> = {
    async CreateKey(body) {
      const keySpec = text(body, 'KeySpec', false) ?? 'SYMMETRIC_DEFAULT';
      const spec = SPECS[keySpec];
      if (!spec) throw new KmsError('ValidationException', `The fake KMS creates only ${Object.keys(SPECS).join(', ')} keys, not KeySpec '${keySpec}'.`);
      if (text(body, 'KeyUsage', false) !== 'SIGN_VERIFY') throw new KmsError('ValidationException', `KeyUsage must be SIGN_VERIFY for KeySpec ${keySpec}.`);
      const tags = (body.Tags ?? []) as { TagKey?: unknown; TagValue?: unknown }[];
      if (!Array.isArray(tags) || tags.some((tag) => typeof tag?.TagKey !== 'string' || typeof tag.TagValue !== 'string')) {
        throw new KmsError('SerializationException', 'Tags must be a list of {TagKey, TagValue} strings.');
      }
      const keyId = randomUUID();
      const key: StoredKey = {
        keyId,
        arn: `arn:aws:kms:${options.region}:${accountId}:key/${keyId}`,
        keySpec,
        description: text(body, 'Description', false) ?? '',
        created: new Date(),
        tags: Object.fromEntries(tags.map((tag) => [tag.TagKey, tag.TagValue])),
        ...(await spec.generate()),
      };
      keys.set(keyId, key);
      return {
        KeyMetadata: {
          AWSAccountId: accountId,
          KeyId: keyId,
          Arn: key.arn,
          CreationDate: key.created.getTime() / 1000,
          Enabled: true,
          Description: key.description,
          KeyUsage: 'SIGN_VERIFY',
          KeyState: 'Enabled',
          Origin: 'AWS_KMS',
          KeyManager: 'CUSTOMER',
          CustomerMasterKeySpec: keySpec,
          KeySpec: keySpec,
          SigningAlgorithms: Object.keys(spec.algorithms),
          MultiRegion: false,
        },
      };
    },

    CreateAlias(body) {
      const aliasName = text(body, 'AliasName', true)!;
      const target = findKey(text(body, 'TargetKeyId', true)!);
      if (!/^alias\/[a-zA-Z0-9/_-]+$/.test(aliasName) || aliasName.startsWith('alias/aws/')) {
        throw new KmsError('ValidationException', `Alias '${aliasName}' must start with alias/ (not alias/aws/) and use only a-z A-Z 0-9 / _ -.`);
      }
      if (aliases.has(aliasName))
        throw new KmsError('AlreadyExistsException', `An alias with the name arn:aws:kms:${options.region}:${accountId}:${aliasName} already exists`);
      aliases.set(aliasName, target.keyId);
      return undefined;
    },

    GetPublicKey(body) {
      const key = findKey(text(body, 'KeyId', true)!);
      return {
        KeyId: key.arn,
        PublicKey: key.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
        CustomerMasterKeySpec: key.keySpec,
        KeySpec: key.keySpec,
        KeyUsage: 'SIGN_VERIFY',
        SigningAlgorithms: Object.keys(SPECS[key.keySpec]!.algorithms),
      };
    },

    Sign(body) {
      const key = findKey(text(body, 'KeyId', true)!);
      const message = Buffer.from(text(body, 'Message', true)!, 'base64');
      const messageType = text(body, 'MessageType', false) ?? 'RAW';
      const algorithm = text(body, 'SigningAlgorithm', true)!;
      const spec = SPECS[key.keySpec]!;
      const hash = spec.algorithms[algorithm];
      if (!hash) throw new KmsError('InvalidKeyUsageException', `Signing algorithm ${algorithm} is not compatible with key spec ${key.keySpec} of ${key.arn}.`);
      if (message.length < 1 || message.length > 4096) throw new KmsError('ValidationException', 'Message must be 1 to 4096 bytes.');
      let signature: Buffer;
      if (messageType === 'RAW') {
        signature = sign(hash, message, { key: key.privateKey, dsaEncoding: 'der' });
      } else if (messageType === 'DIGEST') {
        if (message.length !== createHash(hash).digest().length)
          throw new KmsError('ValidationException', `Digest is invalid length for algorithm ${algorithm}.`);
        signature = spec.curve
          ? ecdsaOverDigest(key.privateKey, spec.curve, message)
          : privateEncrypt(key.privateKey, Buffer.concat([Buffer.from(DIGEST_INFO[hash], 'hex'), message]));
      } else {
        throw new KmsError('ValidationException', `MessageType must be RAW or DIGEST, not '${messageType}'.`);
      }
      signCount += 1;
      return { KeyId: key.arn, Signature: signature.toString('base64'), SigningAlgorithm: algorithm };
    },
  };

  async function answer(req: IncomingMessage, operation: string): Promise<Json | undefined> {
    const body = await readBody(req, 1024 * 1024);
    await verifySigV4(req, body, options);
    if (req.method !== 'POST' || req.url !== '/' || req.headers['content-type'] !== 'application/x-amz-json-1.1') {
      throw new KmsError(
        'UnknownOperationException',
        `KMS answers POST / with Content-Type application/x-amz-json-1.1, not ${req.method} ${req.url} ${req.headers['content-type']}.`,
      );
    }
    const handler = Object.hasOwn(operations, operation) ? operations[operation]! : undefined;
    if (!handler)
      throw new KmsError('UnknownOperationException', `The fake KMS answers ${Object.keys(operations).join(', ')}, not '${req.headers['x-amz-target']}'.`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new KmsError('SerializationException', 'The request body is not JSON.');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new KmsError('SerializationException', 'The request body must be a JSON object.');
    return handler(parsed as Json);
  }

  function send(res: ServerResponse, status: number, payload: Json | undefined, headers: Record<string, string> = {}): void {
    const text = payload === undefined ? '' : JSON.stringify(payload);
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': randomUUID(),
      ...headers,
    });
    res.end(text);
  }

  const server = createServer((req, res) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith('TrentService.') ? target.slice('TrentService.'.length) : '';
    answer(req, operation).then(
      (result) => {
        log.push({ operation, status: 200 });
        send(res, 200, result);
      },
      (error: unknown) => {
        const failure = error instanceof KmsError ? error : new KmsError('KMSInternalException', String(error), 500);
        log.push({ operation, status: failure.status, errorType: failure.type });
        send(res, failure.status, { __type: failure.type, message: failure.message }, { 'x-amzn-errortype': failure.type });
      },
    );
  });
  const { url } = await listenOn(server, {});

  return {
    url,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
    keys: {
      aliases: () => [...aliases].map(([aliasName, targetKeyId]) => ({ aliasName, targetKeyId })),
      tags: (keyId) => ({ ...findKey(keyId).tags }),
      signCount: () => signCount,
    },
    requests: () => log.map((entry) => ({ ...entry })),
  };
}
