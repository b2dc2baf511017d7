// A fake AWS KMS endpoint for tests (real KMS cannot run here). It speaks the real wire protocol —
// AWS JSON 1.1: `POST /`, `Content-Type: application/x-amz-json-1.1`,
// `X-Amz-Target: TrentService.<Operation>`, JSON bodies with KMS's field names, blobs in base64,
// errors as `{"__type": "...", "message": "..."}` with the `x-amzn-ErrorType` header — and it
// verifies AWS Signature Version 4 on every request with its own canonicalisation (node:crypto),
// so a client that signs wrongly fails here as it would against AWS.
//
// Keys are real node:crypto key pairs: signatures made by Sign verify against the SubjectPublicKeyInfo
// that GetPublicKey returns. ECDSA signatures are DER (RFC 3279 Ecdsa-Sig-Value), as KMS returns them.
//
// Operations: CreateKey, DescribeKey, ListKeys, GetPublicKey, Sign, CreateAlias, DeleteAlias,
// ListAliases, TagResource, UntagResource, ListResourceTags, ScheduleKeyDeletion, CancelKeyDeletion,
// EnableKey, DisableKey. Other real KMS operations answer UnsupportedOperationException (naming
// the fake); names KMS does not have answer UnknownOperationException.
import {
  constants as cryptoConstants,
  createECDH,
  createHash,
  createHmac,
  generateKeyPair,
  privateEncrypt,
  randomBytes,
  randomUUID,
  sign as cryptoSign,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface FakeKmsOptions {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** 0 or unset: any free port. */
  port?: number;
  /** The 12-digit account in ARNs. Default 111122223333 (AWS's documentation account). */
  accountId?: string;
  /** When set, requests must carry it as X-Amz-Security-Token (temporary credentials). */
  sessionToken?: string;
  /**
   * Require the `x-amz-content-sha256` header (default true). Real KMS accepts requests without it
   * (the payload hash is then only inside the signature); the fake is stricter by default so the
   * client under test proves it sends it. A header that is present must always match the body.
   */
  requireContentSha256?: boolean;
  /** Clock for the 5-minute X-Amz-Date window; default Date.now. */
  now?: () => number;
}

export type KeySpec =
  | 'SYMMETRIC_DEFAULT'
  | 'RSA_2048'
  | 'RSA_3072'
  | 'RSA_4096'
  | 'ECC_NIST_P256'
  | 'ECC_NIST_P384'
  | 'ECC_NIST_P521'
  | 'ECC_SECG_P256K1';
export type KeyUsage = 'SIGN_VERIFY' | 'ENCRYPT_DECRYPT';
export type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';
export type SigningAlgorithm =
  | 'RSASSA_PKCS1_V1_5_SHA_256'
  | 'RSASSA_PKCS1_V1_5_SHA_384'
  | 'RSASSA_PKCS1_V1_5_SHA_512'
  | 'RSASSA_PSS_SHA_256'
  | 'RSASSA_PSS_SHA_384'
  | 'RSASSA_PSS_SHA_512'
  | 'ECDSA_SHA_256'
  | 'ECDSA_SHA_384'
  | 'ECDSA_SHA_512';

export interface FakeKmsKey {
  keyId: string;
  arn: string;
  keySpec: KeySpec;
  keyUsage: KeyUsage;
  keyState: KeyState;
  description: string;
  creationDate: Date;
  deletionDate?: Date;
  tags: Record<string, string>;
  aliases: string[];
  /** Successful Sign calls with this key. */
  signCount: number;
}

export interface FakeKmsAlias {
  aliasName: string;
  aliasArn: string;
  targetKeyId: string;
}

export interface FakeKmsRequest {
  /** The X-Amz-Target operation, or '' when the request failed before it was read. */
  operation: string;
  status: number;
  /** The `__type` of an error answer. */
  errorType?: string;
}

export interface FakeKms {
  url: string;
  port: number;
  region: string;
  accountId: string;
  close(): Promise<void>;
  keys: {
    list(): FakeKmsKey[];
    /** By key id, key ARN, alias name or alias ARN. */
    get(keyId: string): FakeKmsKey | undefined;
    aliases(): FakeKmsAlias[];
    tags(keyId: string): Record<string, string>;
    /** Successful Sign calls: all keys, or one key (id, ARN or alias). */
    signCount(keyId?: string): number;
    publicKey(keyId: string): KeyObject;
  };
  /** Every request answered so far, in order (including rejected ones). */
  requests(): FakeKmsRequest[];
}

// ---------------------------------------------------------------------------------------------
// Errors

class KmsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

function validation(message: string): KmsError {
  return new KmsError('ValidationException', `1 validation error detected: ${message}`);
}

// ---------------------------------------------------------------------------------------------
// Key specs and algorithms

type HashName = 'sha256' | 'sha384' | 'sha512';

interface CurveInfo {
  nodeCurve: string;
  ecdhCurve: string;
  /** Group order. */
  n: bigint;
  /** Field element / scalar size in bytes. */
  size: number;
}

const CURVES: Partial<Record<KeySpec, CurveInfo>> = {
  ECC_NIST_P256: {
    nodeCurve: 'P-256',
    ecdhCurve: 'prime256v1',
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
    size: 32,
  },
  ECC_NIST_P384: {
    nodeCurve: 'P-384',
    ecdhCurve: 'secp384r1',
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
    size: 48,
  },
  ECC_NIST_P521: {
    nodeCurve: 'P-521',
    ecdhCurve: 'secp521r1',
    n: 0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
    size: 66,
  },
  ECC_SECG_P256K1: {
    nodeCurve: 'secp256k1',
    ecdhCurve: 'secp256k1',
    n: 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n,
    size: 32,
  },
};

const RSA_BITS: Partial<Record<KeySpec, number>> = { RSA_2048: 2048, RSA_3072: 3072, RSA_4096: 4096 };

const RSA_SIGNING: SigningAlgorithm[] = [
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
];

const SIGNING_ALGORITHMS: Record<KeySpec, SigningAlgorithm[]> = {
  SYMMETRIC_DEFAULT: [],
  RSA_2048: RSA_SIGNING,
  RSA_3072: RSA_SIGNING,
  RSA_4096: RSA_SIGNING,
  ECC_NIST_P256: ['ECDSA_SHA_256'],
  ECC_NIST_P384: ['ECDSA_SHA_384'],
  ECC_NIST_P521: ['ECDSA_SHA_512'],
  ECC_SECG_P256K1: ['ECDSA_SHA_256'],
};

const ALL_SIGNING_ALGORITHMS = [...RSA_SIGNING, 'ECDSA_SHA_256', 'ECDSA_SHA_384', 'ECDSA_SHA_512'];

// Every KeySpec KMS documents; the fake creates only those in KEY_SPECS.
const DOCUMENTED_KEY_SPECS = [
  'RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1',
  'ECC_NIST_EDWARDS25519', 'SYMMETRIC_DEFAULT', 'HMAC_224', 'HMAC_256', 'HMAC_384', 'HMAC_512', 'SM2',
  'ML_DSA_44', 'ML_DSA_65', 'ML_DSA_87',
];
const KEY_SPECS: KeySpec[] = [
  'SYMMETRIC_DEFAULT', 'RSA_2048', 'RSA_3072', 'RSA_4096',
  'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1',
];
const DOCUMENTED_KEY_USAGES = ['SIGN_VERIFY', 'ENCRYPT_DECRYPT', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT'];

function algorithmHash(algorithm: SigningAlgorithm): HashName {
  return algorithm.endsWith('_256') ? 'sha256' : algorithm.endsWith('_384') ? 'sha384' : 'sha512';
}

const HASH_LENGTH: Record<HashName, number> = { sha256: 32, sha384: 48, sha512: 64 };

// DER DigestInfo prefixes (RFC 8017 section 9.2, note 1).
const DIGEST_INFO_PREFIX: Record<HashName, Buffer> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

// ---------------------------------------------------------------------------------------------
// Signing (RAW through node:crypto; DIGEST — an already hashed message — by hand, since
// node:crypto always hashes what it signs)

function bigintFromBytes(bytes: Buffer): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`);
}

function bytesFromBigint(value: bigint, length: number): Buffer {
  return Buffer.from(value.toString(16).padStart(length * 2, '0'), 'hex');
}

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
    e >>= 1n;
  }
  return result;
}

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n >>= 8) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function derInteger(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let bytes = Buffer.from(hex, 'hex');
  if ((bytes[0] ?? 0) & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return Buffer.concat([Buffer.from([0x02]), derLength(bytes.length), bytes]);
}

/** ECDSA (SEC 1 section 4.1.3) over a given digest; k·G comes from OpenSSL through ECDH. */
function ecdsaSignDigest(privateKey: KeyObject, curve: CurveInfo, digest: Buffer): Buffer {
  const jwk = privateKey.export({ format: 'jwk' });
  const d = bigintFromBytes(Buffer.from(jwk.d ?? '', 'base64url'));
  const nBits = curve.n.toString(2).length;
  let z = bigintFromBytes(digest);
  if (digest.length * 8 > nBits) z >>= BigInt(digest.length * 8 - nBits);
  for (;;) {
    const k = bigintFromBytes(randomBytes(curve.size + 8)) % curve.n;
    if (k === 0n) continue;
    const ecdh = createECDH(curve.ecdhCurve);
    ecdh.setPrivateKey(bytesFromBigint(k, curve.size));
    const point = ecdh.getPublicKey(); // 04 || X || Y
    const r = bigintFromBytes(point.subarray(1, 1 + curve.size)) % curve.n;
    if (r === 0n) continue;
    const s = (modPow(k, curve.n - 2n, curve.n) * ((z + r * d) % curve.n)) % curve.n;
    if (s === 0n) continue;
    const body = Buffer.concat([derInteger(r), derInteger(s)]);
    return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
  }
}

function mgf1(hash: HashName, seed: Buffer, length: number): Buffer {
  const chunks: Buffer[] = [];
  let produced = 0;
  for (let counter = 0; produced < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    const block = createHash(hash).update(seed).update(c).digest();
    chunks.push(block);
    produced += block.length;
  }
  return Buffer.concat(chunks).subarray(0, length);
}

/** RSASSA-PSS (RFC 8017 section 8.1, EMSA-PSS with MGF1 of the same hash, salt = hash length). */
function rsaPssSignDigest(privateKey: KeyObject, hash: HashName, digest: Buffer): Buffer {
  const modBits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
  const k = Math.ceil(modBits / 8);
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  const hLen = HASH_LENGTH[hash];
  const salt = randomBytes(hLen);
  const h = createHash(hash).update(Buffer.alloc(8)).update(digest).update(salt).digest();
  const db = Buffer.concat([Buffer.alloc(emLen - hLen - hLen - 2), Buffer.from([0x01]), salt]);
  const dbMask = mgf1(hash, h, emLen - hLen - 1);
  const maskedDb = Buffer.alloc(db.length);
  for (let i = 0; i < db.length; i++) maskedDb[i] = (db[i] ?? 0) ^ (dbMask[i] ?? 0);
  maskedDb[0] = (maskedDb[0] ?? 0) & (0xff >> (8 * emLen - emBits));
  const em = Buffer.concat([maskedDb, h, Buffer.from([0xbc])]);
  const block = Buffer.concat([Buffer.alloc(k - em.length), em]);
  return privateEncrypt({ key: privateKey, padding: cryptoConstants.RSA_NO_PADDING }, block);
}

function signMessage(key: StoredKey, algorithm: SigningAlgorithm, message: Buffer, messageType: 'RAW' | 'DIGEST'): Buffer {
  const hash = algorithmHash(algorithm);
  const privateKey = key.privateKey!;
  if (messageType === 'RAW') {
    if (algorithm.startsWith('ECDSA')) return cryptoSign(hash, message, { key: privateKey, dsaEncoding: 'der' });
    if (algorithm.startsWith('RSASSA_PSS')) {
      return cryptoSign(hash, message, {
        key: privateKey,
        padding: cryptoConstants.RSA_PKCS1_PSS_PADDING,
        saltLength: cryptoConstants.RSA_PSS_SALTLEN_DIGEST,
      });
    }
    return cryptoSign(hash, message, { key: privateKey, padding: cryptoConstants.RSA_PKCS1_PADDING });
  }
  if (algorithm.startsWith('ECDSA')) return ecdsaSignDigest(privateKey, CURVES[key.keySpec]!, message);
  if (algorithm.startsWith('RSASSA_PSS')) return rsaPssSignDigest(privateKey, hash, message);
  return privateEncrypt(
    { key: privateKey, padding: cryptoConstants.RSA_PKCS1_PADDING },
    Buffer.concat([DIGEST_INFO_PREFIX[hash], message]),
  );
}

// ---------------------------------------------------------------------------------------------
// SigV4 verification

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ percent-encoded. */
function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Canonical URI for services other than S3: the path as sent, URI-encoded once more. */
function canonicalUri(rawPath: string): string {
  const path = rawPath.replace(/\/+/g, '/') || '/';
  return path
    .split('/')
    .map((segment) => uriEncode(uriEncode(safeDecode(segment))))
    .join('/');
}

function canonicalQuery(rawQuery: string): string {
  // Parsed as URLSearchParams does (a '+' is a space), as aws4fetch and the AWS SDKs sign it.
  return [...new URLSearchParams(rawQuery)]
    .filter(([name]) => name.length > 0)
    .map(([name, value]) => [uriEncode(name), uriEncode(value)] as const)
    .sort(([k1, v1], [k2, v2]) => (k1 < k2 ? -1 : k1 > k2 ? 1 : v1 < v2 ? -1 : v1 > v2 ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/** All values of a header (raw, in order), each trimmed with inner whitespace runs collapsed, joined by ','. */
function canonicalHeaderValue(rawHeaders: string[], name: string): string | undefined {
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === name) values.push(rawHeaders[i + 1]!.trim().replace(/\s+/g, ' '));
  }
  return values.length ? values.join(',') : undefined;
}

function parseAmzDate(value: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const time = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(time);
  if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return undefined;
  return time;
}

function formatAmzDate(time: number): string {
  return new Date(time).toISOString().replace(/[:-]|\.\d{3}/g, '');
}

const MAX_SKEW_MS = 5 * 60 * 1000;

interface SigV4Config {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  sessionToken?: string;
  requireContentSha256: boolean;
  now: () => number;
}

/** Throws the KmsError AWS would answer; returns normally when the request is authentic. */
function verifySigV4(req: IncomingMessage, body: Buffer, config: SigV4Config): void {
  const authorization = canonicalHeaderValue(req.rawHeaders, 'authorization');
  if (!authorization) {
    const query = new URL(req.url ?? '/', 'http://fake').searchParams;
    if (query.has('X-Amz-Signature') || query.has('X-Amz-Credential')) {
      throw new KmsError('IncompleteSignatureException', 'The fake KMS does not accept query-string (presigned) authentication.');
    }
    throw new KmsError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403);
  }

  const space = authorization.indexOf(' ');
  const algorithm = space < 0 ? authorization : authorization.slice(0, space);
  if (algorithm !== 'AWS4-HMAC-SHA256') {
    throw new KmsError('IncompleteSignatureException', `Unsupported AWS 'algorithm': '${algorithm}'. Authorization=${authorization}`);
  }
  const params = new Map<string, string>();
  for (const part of authorization.slice(space + 1).split(',')) {
    const trimmed = part.trim();
    const eq = trimmed.indexOf('=');
    if (eq <= 0) {
      throw new KmsError('IncompleteSignatureException', `'${trimmed}' not a valid key=value pair (missing equal-sign) in Authorization header: '${authorization}'.`);
    }
    const name = trimmed.slice(0, eq);
    if (params.has(name)) {
      throw new KmsError('IncompleteSignatureException', `Authorization header has the parameter '${name}' more than once.`);
    }
    params.set(name, trimmed.slice(eq + 1));
  }
  const missing = ['Credential', 'Signature', 'SignedHeaders'].filter((name) => !params.get(name));
  if (missing.length) {
    throw new KmsError(
      'IncompleteSignatureException',
      `${missing.map((name) => `Authorization header requires '${name}' parameter.`).join(' ')} Authorization=${authorization}`,
    );
  }
  const credential = params.get('Credential')!;
  const signedHeadersLine = params.get('SignedHeaders')!;
  const signature = params.get('Signature')!;

  const amzDate = canonicalHeaderValue(req.rawHeaders, 'x-amz-date');
  if (amzDate === undefined) {
    throw new KmsError('IncompleteSignatureException', "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header (the fake KMS accepts X-Amz-Date only).");
  }
  const requestTime = parseAmzDate(amzDate);
  if (requestTime === undefined) {
    throw new KmsError('IncompleteSignatureException', `Date must be in ISO-8601 'basic format'. Got '${amzDate}'.`);
  }

  const scope = credential.split('/');
  if (scope.length !== 5 || scope.some((part) => part.length === 0)) {
    throw new KmsError('IncompleteSignatureException', `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${credential}'`);
  }
  const [accessKeyId, scopeDate, scopeRegion, scopeService, terminator] = scope as [string, string, string, string, string];

  if (accessKeyId !== config.accessKeyId) {
    throw new KmsError('UnrecognizedClientException', 'The security token included in the request is invalid.');
  }
  const sessionToken = canonicalHeaderValue(req.rawHeaders, 'x-amz-security-token');
  if (sessionToken !== config.sessionToken) {
    throw new KmsError('UnrecognizedClientException', 'The security token included in the request is invalid.');
  }
  if (scopeDate !== amzDate.slice(0, 8)) {
    throw new KmsError(
      'InvalidSignatureException',
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`,
    );
  }
  if (scopeRegion !== config.region) {
    throw new KmsError('InvalidSignatureException', `Credential should be scoped to a valid region, not '${scopeRegion}'. `);
  }
  if (scopeService !== 'kms') {
    throw new KmsError('InvalidSignatureException', "Credential should be scoped to correct service: 'kms'. ");
  }
  if (terminator !== 'aws4_request') {
    throw new KmsError('InvalidSignatureException', `Credential should be scoped with a valid terminator: 'aws4_request', not '${terminator}'. `);
  }

  const now = config.now();
  if (requestTime < now - MAX_SKEW_MS) {
    throw new KmsError(
      'InvalidSignatureException',
      `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(now - MAX_SKEW_MS)} (${formatAmzDate(now)} - 5 min.)`,
    );
  }
  if (requestTime > now + MAX_SKEW_MS) {
    throw new KmsError(
      'InvalidSignatureException',
      `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(now + MAX_SKEW_MS)} (${formatAmzDate(now)} + 5 min.)`,
    );
  }

  const signedHeaders = signedHeadersLine.split(';');
  const sorted = [...new Set(signedHeaders)].sort();
  if (signedHeaders.some((name) => name !== name.toLowerCase() || name.length === 0) || sorted.join(';') !== signedHeadersLine) {
    throw new KmsError('InvalidSignatureException', `SignedHeaders must be lowercase, unique and sorted, got '${signedHeadersLine}'.`);
  }
  if (!signedHeaders.includes('host')) {
    throw new KmsError('InvalidSignatureException', "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }
  // Every x-amz-* header the request carries must be covered by the signature (X-Amz-Target included,
  // so a captured request cannot be replayed as another operation).
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    if (name.startsWith('x-amz-') && !signedHeaders.includes(name)) {
      throw new KmsError('InvalidSignatureException', `The request header '${name}' must be a 'SignedHeader' in the AWS Authorization.`);
    }
  }

  const bodyHash = sha256Hex(body);
  const contentSha256 = canonicalHeaderValue(req.rawHeaders, 'x-amz-content-sha256');
  if (contentSha256 === undefined) {
    if (config.requireContentSha256) {
      throw new KmsError('InvalidSignatureException', "Missing required header for this request: 'x-amz-content-sha256'.");
    }
  } else if (contentSha256 !== bodyHash) {
    throw new KmsError('InvalidSignatureException', "The provided 'x-amz-content-sha256' header does not match what was computed.");
  }

  const target = new URL(req.url ?? '/', 'http://fake');
  const rawPath = (req.url ?? '/').split('?')[0] ?? '/';
  const rawQuery = target.search.slice(1);
  const canonicalRequest = [
    (req.method ?? 'GET').toUpperCase(),
    canonicalUri(rawPath),
    canonicalQuery(rawQuery),
    signedHeaders.map((name) => `${name}:${canonicalHeaderValue(req.rawHeaders, name) ?? ''}\n`).join(''),
    signedHeadersLine,
    contentSha256 ?? bodyHash,
  ].join('\n');
  const credentialScope = `${scopeDate}/${scopeRegion}/${scopeService}/${terminator}`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, credentialScope, sha256Hex(canonicalRequest)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${config.secretAccessKey}`, scopeDate), scopeRegion), scopeService), terminator);
  const expected = Buffer.from(createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex'));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new KmsError(
      'InvalidSignatureException',
      `${SIGNATURE_MISMATCH}\n\nThe Canonical String for this request should have been\n'${canonicalRequest}'\n\nThe String-to-Sign should have been\n'${stringToSign}'\n`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// State

interface StoredKey {
  keyId: string;
  arn: string;
  keySpec: KeySpec;
  keyUsage: KeyUsage;
  keyState: KeyState;
  description: string;
  creationDate: number;
  deletionDate?: number;
  tags: Map<string, string>;
  privateKey?: KeyObject;
  publicKey?: KeyObject;
  signCount: number;
}

interface StoredAlias {
  aliasName: string;
  targetKeyId: string;
  creationDate: number;
  lastUpdatedDate: number;
}

type Json = Record<string, unknown>;

const KMS_OPERATIONS = new Set([
  'CancelKeyDeletion', 'ConnectCustomKeyStore', 'CreateAlias', 'CreateCustomKeyStore', 'CreateGrant', 'CreateKey',
  'Decrypt', 'DeleteAlias', 'DeleteCustomKeyStore', 'DeleteImportedKeyMaterial', 'DeriveSharedSecret',
  'DescribeCustomKeyStores', 'DescribeKey', 'DisableKey', 'DisableKeyRotation', 'DisconnectCustomKeyStore',
  'EnableKey', 'EnableKeyRotation', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext', 'GenerateDataKeyWithoutPlaintext', 'GenerateMac', 'GenerateRandom',
  'GetKeyPolicy', 'GetKeyRotationStatus', 'GetParametersForImport', 'GetPublicKey', 'ImportKeyMaterial',
  'ListAliases', 'ListGrants', 'ListKeyPolicies', 'ListKeyRotations', 'ListKeys', 'ListResourceTags',
  'ListRetirableGrants', 'PutKeyPolicy', 'ReEncrypt', 'ReplicateKey', 'RetireGrant', 'RevokeGrant',
  'RotateKeyOnDemand', 'ScheduleKeyDeletion', 'Sign', 'TagResource', 'UntagResource', 'UpdateAlias',
  'UpdateCustomKeyStore', 'UpdateKeyDescription', 'UpdatePrimaryRegion', 'Verify', 'VerifyMac',
]);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ALIAS_PATTERN = /^[a-zA-Z0-9:/_-]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

// ---------------------------------------------------------------------------------------------
// Request field helpers (AWS validation messages use the lower-camel member name)

function member(field: string): string {
  return field.charAt(0).toLowerCase() + field.slice(1);
}

function optionalString(body: Json, field: string, min = 1, max = 2048): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new KmsError('SerializationException', `Expected a string for ${field}`);
  if (value.length < min) throw validation(`Value at '${member(field)}' failed to satisfy constraint: Member must have length greater than or equal to ${min}`);
  if (value.length > max) throw validation(`Value at '${member(field)}' failed to satisfy constraint: Member must have length less than or equal to ${max}`);
  return value;
}

function requiredString(body: Json, field: string, min = 1, max = 2048): string {
  const value = optionalString(body, field, min, max);
  if (value === undefined) throw validation(`Value null at '${member(field)}' failed to satisfy constraint: Member must not be null`);
  return value;
}

function optionalEnum<T extends string>(body: Json, field: string, allowed: readonly string[]): T | undefined {
  const value = optionalString(body, field, 0, 1024);
  if (value === undefined) return undefined;
  if (!allowed.includes(value)) {
    throw validation(`Value '${value}' at '${member(field)}' failed to satisfy constraint: Member must satisfy enum value set: [${allowed.join(', ')}]`);
  }
  return value as T;
}

function optionalInteger(body: Json, field: string, min: number, max: number): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new KmsError('SerializationException', `Expected an integer for ${field}`);
  if (value < min) throw validation(`Value '${value}' at '${member(field)}' failed to satisfy constraint: Member must have value greater than or equal to ${min}`);
  if (value > max) throw validation(`Value '${value}' at '${member(field)}' failed to satisfy constraint: Member must have value less than or equal to ${max}`);
  return value;
}

function requiredBlob(body: Json, field: string, min: number, max: number): Buffer {
  const value = body[field];
  if (value === undefined || value === null) throw validation(`Value null at '${member(field)}' failed to satisfy constraint: Member must not be null`);
  if (typeof value !== 'string' || !BASE64.test(value)) throw new KmsError('SerializationException', `Could not decode the base64 blob in ${field}`);
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length < min) throw validation(`Value at '${member(field)}' failed to satisfy constraint: Member must have length greater than or equal to ${min}`);
  if (bytes.length > max) throw validation(`Value at '${member(field)}' failed to satisfy constraint: Member must have length less than or equal to ${max}`);
  return bytes;
}

function optionalBoolean(body: Json, field: string): boolean | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw new KmsError('SerializationException', `Expected a boolean for ${field}`);
  return value;
}

function parseTags(body: Json, field: string): Array<[string, string]> | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new KmsError('SerializationException', `Expected a list for ${field}`);
  const tags: Array<[string, string]> = [];
  const seen = new Set<string>();
  for (const tag of value as unknown[]) {
    if (typeof tag !== 'object' || tag === null || Array.isArray(tag)) throw new KmsError('SerializationException', `Expected a structure in ${field}`);
    const key = requiredString(tag as Json, 'TagKey', 1, 128);
    const tagValue = (tag as Json).TagValue;
    if (tagValue === undefined || tagValue === null) throw validation("Value null at 'tagValue' failed to satisfy constraint: Member must not be null");
    if (typeof tagValue !== 'string') throw new KmsError('SerializationException', 'Expected a string for TagValue');
    if (tagValue.length > 256) throw validation("Value at 'tagValue' failed to satisfy constraint: Member must have length less than or equal to 256");
    if (key.toLowerCase().startsWith('aws:')) throw new KmsError('TagException', 'Tags beginning with aws: are reserved');
    if (seen.has(key)) throw new KmsError('TagException', `Duplicate tag key '${key}'`);
    seen.add(key);
    tags.push([key, tagValue]);
  }
  return tags;
}

function paginate<T>(items: T[], body: Json, maxLimit: number, defaultLimit: number): { page: T[]; NextMarker?: string; Truncated: boolean } {
  const limit = optionalInteger(body, 'Limit', 1, maxLimit) ?? defaultLimit;
  const marker = optionalString(body, 'Marker', 1, 1024);
  let start = 0;
  if (marker !== undefined) {
    const decoded = /^fake-marker-(\d+)$/.exec(Buffer.from(marker, 'base64url').toString('utf8'));
    if (!decoded) throw new KmsError('InvalidMarkerException', 'Invalid marker');
    start = Number(decoded[1]);
  }
  const page = items.slice(start, start + limit);
  const next = start + limit;
  return next < items.length
    ? { page, NextMarker: Buffer.from(`fake-marker-${next}`).toString('base64url'), Truncated: true }
    : { page, Truncated: false };
}

// ---------------------------------------------------------------------------------------------
// The server

export async function startFakeKms(options: FakeKmsOptions): Promise<FakeKms> {
  const region = options.region;
  const accountId = options.accountId ?? '111122223333';
  const config: SigV4Config = {
    accessKeyId: options.accessKeyId,
    secretAccessKey: options.secretAccessKey,
    region,
    requireContentSha256: options.requireContentSha256 ?? true,
    now: options.now ?? Date.now,
    ...(options.sessionToken !== undefined ? { sessionToken: options.sessionToken } : {}),
  };
  const keys = new Map<string, StoredKey>();
  const aliases = new Map<string, StoredAlias>();
  const requestLog: FakeKmsRequest[] = [];

  const keyArn = (keyId: string) => `arn:aws:kms:${region}:${accountId}:key/${keyId}`;
  const aliasArn = (aliasName: string) => `arn:aws:kms:${region}:${accountId}:${aliasName}`;

  function findKey(identifier: string, allowAlias: boolean): StoredKey {
    let id = identifier;
    if (id.startsWith('arn:')) {
      const parts = id.split(':');
      const resource = parts.slice(5).join(':');
      if (parts.length < 6 || parts[2] !== 'kms' || parts[3] !== region || parts[4] !== accountId) {
        throw new KmsError('NotFoundException', `Invalid arn ${identifier}`);
      }
      if (resource.startsWith('alias/')) {
        if (!allowAlias) throw new KmsError('NotFoundException', `Invalid keyId ${identifier}`);
        id = resource;
      } else if (resource.startsWith('key/')) {
        id = resource.slice('key/'.length);
        if (!UUID.test(id)) throw new KmsError('NotFoundException', `Invalid arn ${identifier}`);
      } else {
        throw new KmsError('NotFoundException', `Invalid arn ${identifier}`);
      }
    }
    if (id.startsWith('alias/')) {
      if (!allowAlias) throw new KmsError('NotFoundException', `Invalid keyId ${identifier}`);
      const alias = aliases.get(id);
      if (!alias) throw new KmsError('NotFoundException', `Alias ${aliasArn(id)} is not found.`);
      return keys.get(alias.targetKeyId)!;
    }
    if (!UUID.test(id)) throw new KmsError('NotFoundException', `Invalid keyId ${identifier}`);
    const key = keys.get(id);
    if (!key) throw new KmsError('NotFoundException', `Key '${keyArn(id)}' does not exist`);
    return key;
  }

  function requireState(key: StoredKey, operation: string): void {
    if (key.keyState === 'PendingDeletion') throw new KmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
    if (key.keyState === 'Disabled' && operation !== 'TagResource' && operation !== 'UntagResource') {
      throw new KmsError('DisabledException', `${key.arn} is disabled.`);
    }
  }

  function keyMetadata(key: StoredKey): Json {
    const asymmetric = key.keySpec !== 'SYMMETRIC_DEFAULT';
    return {
      AWSAccountId: accountId,
      KeyId: key.keyId,
      Arn: key.arn,
      CreationDate: key.creationDate / 1000,
      Enabled: key.keyState === 'Enabled',
      Description: key.description,
      KeyUsage: key.keyUsage,
      KeyState: key.keyState,
      ...(key.deletionDate !== undefined ? { DeletionDate: key.deletionDate / 1000 } : {}),
      Origin: 'AWS_KMS',
      KeyManager: 'CUSTOMER',
      CustomerMasterKeySpec: key.keySpec,
      KeySpec: key.keySpec,
      ...(key.keyUsage === 'SIGN_VERIFY' ? { SigningAlgorithms: SIGNING_ALGORITHMS[key.keySpec] } : {}),
      ...(key.keyUsage === 'ENCRYPT_DECRYPT'
        ? { EncryptionAlgorithms: asymmetric ? ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] : ['SYMMETRIC_DEFAULT'] }
        : {}),
      MultiRegion: false,
    };
  }

  function snapshot(key: StoredKey): FakeKmsKey {
    return {
      keyId: key.keyId,
      arn: key.arn,
      keySpec: key.keySpec,
      keyUsage: key.keyUsage,
      keyState: key.keyState,
      description: key.description,
      creationDate: new Date(key.creationDate),
      ...(key.deletionDate !== undefined ? { deletionDate: new Date(key.deletionDate) } : {}),
      tags: Object.fromEntries(key.tags),
      aliases: [...aliases.values()].filter((a) => a.targetKeyId === key.keyId).map((a) => a.aliasName),
      signCount: key.signCount,
    };
  }

  function applyTags(key: StoredKey, tags: Array<[string, string]>): void {
    const merged = new Map(key.tags);
    for (const [k, v] of tags) merged.set(k, v);
    if (merged.size > 50) throw new KmsError('TagException', 'A KMS key can have at most 50 tags.');
    key.tags = merged;
  }

  function validateAliasName(aliasName: string): void {
    if (!aliasName.startsWith('alias/')) {
      throw new KmsError('ValidationException', 'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html');
    }
    if (!ALIAS_PATTERN.test(aliasName) || aliasName === 'alias/') {
      throw validation(`Value '${aliasName}' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$`);
    }
    if (aliasName.startsWith('alias/aws/')) {
      throw new KmsError('NotAuthorizedException', 'Cannot create alias with prefix alias/aws/; it is reserved for AWS managed keys');
    }
  }

  const operations: Record<string, (body: Json) => Promise<Json | undefined> | Json | undefined> = {
    async CreateKey(body) {
      const description = optionalString(body, 'Description', 0, 8192) ?? '';
      const keySpecName = optionalEnum<string>(body, 'KeySpec', DOCUMENTED_KEY_SPECS)
        ?? optionalEnum<string>(body, 'CustomerMasterKeySpec', DOCUMENTED_KEY_SPECS)
        ?? 'SYMMETRIC_DEFAULT';
      const keySpec = keySpecName as KeySpec;
      const asymmetric = keySpec !== 'SYMMETRIC_DEFAULT';
      const keyUsage = optionalEnum<string>(body, 'KeyUsage', DOCUMENTED_KEY_USAGES) ?? 'ENCRYPT_DECRYPT';
      const origin = optionalEnum<string>(body, 'Origin', ['AWS_KMS', 'EXTERNAL', 'AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE']);
      optionalString(body, 'Policy', 1, 131072);
      optionalBoolean(body, 'BypassPolicyLockoutSafetyCheck');
      const multiRegion = optionalBoolean(body, 'MultiRegion');
      const tags = parseTags(body, 'Tags') ?? [];
      if (!KEY_SPECS.includes(keySpec)) {
        throw new KmsError('UnsupportedOperationException', `The fake KMS does not implement KeySpec ${keySpecName}.`);
      }
      if (origin !== undefined && origin !== 'AWS_KMS') {
        throw new KmsError('UnsupportedOperationException', `The fake KMS does not implement Origin ${origin}.`);
      }
      if (multiRegion) throw new KmsError('UnsupportedOperationException', 'The fake KMS does not implement multi-Region keys.');
      const compatible =
        (keySpec === 'SYMMETRIC_DEFAULT' && keyUsage === 'ENCRYPT_DECRYPT') ||
        (keySpec.startsWith('RSA_') && (keyUsage === 'SIGN_VERIFY' || keyUsage === 'ENCRYPT_DECRYPT')) ||
        (keySpec.startsWith('ECC_') && keyUsage === 'SIGN_VERIFY');
      if (!compatible) {
        throw new KmsError('ValidationException', `KeyUsage ${keyUsage} is not compatible with KeySpec ${keySpec}`);
      }
      if (tags.length > 50) throw new KmsError('TagException', 'A KMS key can have at most 50 tags.');
      let pair: { privateKey: KeyObject; publicKey: KeyObject } | undefined;
      if (asymmetric) {
        const bits = RSA_BITS[keySpec];
        pair = bits
          ? await generateKeyPairAsync('rsa', { modulusLength: bits, publicExponent: 0x10001 })
          : await generateKeyPairAsync('ec', { namedCurve: CURVES[keySpec]!.nodeCurve });
      }
      const keyId = randomUUID();
      const key: StoredKey = {
        keyId,
        arn: keyArn(keyId),
        keySpec,
        keyUsage: keyUsage as KeyUsage,
        keyState: 'Enabled',
        description,
        creationDate: Date.now(),
        tags: new Map(tags),
        signCount: 0,
        ...(pair ? { privateKey: pair.privateKey, publicKey: pair.publicKey } : {}),
      };
      keys.set(keyId, key);
      return { KeyMetadata: keyMetadata(key) };
    },

    DescribeKey(body) {
      return { KeyMetadata: keyMetadata(findKey(requiredString(body, 'KeyId'), true)) };
    },

    ListKeys(body) {
      const all = [...keys.values()].map((key) => ({ KeyId: key.keyId, KeyArn: key.arn }));
      const { page, ...rest } = paginate(all, body, 1000, 100);
      return { Keys: page, ...rest };
    },

    GetPublicKey(body) {
      const key = findKey(requiredString(body, 'KeyId'), true);
      requireState(key, 'GetPublicKey');
      if (!key.publicKey) {
        throw new KmsError('UnsupportedOperationException', `${key.arn} key usage is ENCRYPT_DECRYPT with key spec SYMMETRIC_DEFAULT, which has no public key.`);
      }
      return {
        KeyId: key.arn,
        PublicKey: key.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
        CustomerMasterKeySpec: key.keySpec,
        KeySpec: key.keySpec,
        KeyUsage: key.keyUsage,
        ...(key.keyUsage === 'SIGN_VERIFY'
          ? { SigningAlgorithms: SIGNING_ALGORITHMS[key.keySpec] }
          : { EncryptionAlgorithms: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] }),
      };
    },

    Sign(body) {
      const keyIdentifier = requiredString(body, 'KeyId');
      const message = requiredBlob(body, 'Message', 1, 4096);
      const messageType = optionalEnum<'RAW' | 'DIGEST'>(body, 'MessageType', ['RAW', 'DIGEST', 'EXTERNAL_MU']) ?? 'RAW';
      const algorithm = optionalEnum<SigningAlgorithm>(body, 'SigningAlgorithm', [
        ...ALL_SIGNING_ALGORITHMS, 'SM2DSA', 'ML_DSA_SHAKE_256', 'ED25519_SHA_512', 'ED25519_PH_SHA_512',
      ]);
      if (algorithm === undefined) throw validation("Value null at 'signingAlgorithm' failed to satisfy constraint: Member must not be null");
      const dryRun = optionalBoolean(body, 'DryRun');
      const key = findKey(keyIdentifier, true);
      requireState(key, 'Sign');
      if (key.keyUsage !== 'SIGN_VERIFY') {
        throw new KmsError('InvalidKeyUsageException', `${key.arn} key usage is ${key.keyUsage} which is not valid for Sign.`);
      }
      if (!SIGNING_ALGORITHMS[key.keySpec].includes(algorithm)) {
        throw new KmsError('InvalidKeyUsageException', `Signing algorithm ${algorithm} is not compatible with key spec ${key.keySpec} of ${key.arn}.`);
      }
      if ((messageType as string) === 'EXTERNAL_MU') {
        throw new KmsError('InvalidKeyUsageException', 'MessageType EXTERNAL_MU is valid only with ML_DSA keys.');
      }
      if (messageType === 'DIGEST' && message.length !== HASH_LENGTH[algorithmHash(algorithm)]) {
        throw new KmsError('ValidationException', `Digest is invalid length for algorithm ${algorithm}.`);
      }
      if (dryRun) {
        throw new KmsError('DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.', 412);
      }
      const signature = signMessage(key, algorithm, message, messageType);
      key.signCount += 1;
      return { KeyId: key.arn, Signature: signature.toString('base64'), SigningAlgorithm: algorithm };
    },

    CreateAlias(body) {
      const aliasName = requiredString(body, 'AliasName', 1, 256);
      const target = requiredString(body, 'TargetKeyId');
      validateAliasName(aliasName);
      const key = findKey(target, false);
      if (key.keyState === 'PendingDeletion') throw new KmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
      if (aliases.has(aliasName)) {
        throw new KmsError('AlreadyExistsException', `An alias with the name ${aliasArn(aliasName)} already exists`);
      }
      const now = Date.now();
      aliases.set(aliasName, { aliasName, targetKeyId: key.keyId, creationDate: now, lastUpdatedDate: now });
      return undefined;
    },

    DeleteAlias(body) {
      const aliasName = requiredString(body, 'AliasName', 1, 256);
      if (!aliasName.startsWith('alias/')) {
        throw new KmsError('ValidationException', 'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html');
      }
      if (!aliases.delete(aliasName)) throw new KmsError('NotFoundException', `Alias ${aliasArn(aliasName)} is not found.`);
      return undefined;
    },

    ListAliases(body) {
      const keyIdentifier = optionalString(body, 'KeyId');
      const targetKeyId = keyIdentifier === undefined ? undefined : findKey(keyIdentifier, false).keyId;
      const all = [...aliases.values()]
        .filter((alias) => targetKeyId === undefined || alias.targetKeyId === targetKeyId)
        .map((alias) => ({
          AliasName: alias.aliasName,
          AliasArn: aliasArn(alias.aliasName),
          TargetKeyId: alias.targetKeyId,
          CreationDate: alias.creationDate / 1000,
          LastUpdatedDate: alias.lastUpdatedDate / 1000,
        }));
      const { page, ...rest } = paginate(all, body, 100, 50);
      return { Aliases: page, ...rest };
    },

    TagResource(body) {
      const key = findKey(requiredString(body, 'KeyId'), false);
      const tags = parseTags(body, 'Tags');
      if (tags === undefined) throw validation("Value null at 'tags' failed to satisfy constraint: Member must not be null");
      requireState(key, 'TagResource');
      applyTags(key, tags);
      return undefined;
    },

    UntagResource(body) {
      const key = findKey(requiredString(body, 'KeyId'), false);
      const tagKeys = body.TagKeys;
      if (!Array.isArray(tagKeys)) throw validation("Value null at 'tagKeys' failed to satisfy constraint: Member must not be null");
      requireState(key, 'UntagResource');
      for (const tagKey of tagKeys as unknown[]) {
        if (typeof tagKey !== 'string') throw new KmsError('SerializationException', 'Expected a string in TagKeys');
        key.tags.delete(tagKey);
      }
      return undefined;
    },

    ListResourceTags(body) {
      const key = findKey(requiredString(body, 'KeyId'), false);
      const all = [...key.tags].map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
      const { page, ...rest } = paginate(all, body, 50, 50);
      return { Tags: page, ...rest };
    },

    ScheduleKeyDeletion(body) {
      const key = findKey(requiredString(body, 'KeyId'), false);
      const days = optionalInteger(body, 'PendingWindowInDays', 7, 30) ?? 30;
      if (key.keyState === 'PendingDeletion') throw new KmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
      key.keyState = 'PendingDeletion';
      key.deletionDate = Date.now() + days * 24 * 60 * 60 * 1000;
      return { KeyId: key.arn, DeletionDate: key.deletionDate / 1000, KeyState: 'PendingDeletion', PendingWindowInDays: days };
    },

    CancelKeyDeletion(body) {
      const key = findKey(requiredString(body, 'KeyId'), false);
      if (key.keyState !== 'PendingDeletion') {
        throw new KmsError('KMSInvalidStateException', `${key.arn} is not pending deletion.`);
      }
      key.keyState = 'Disabled';
      delete key.deletionDate;
      return { KeyId: key.arn };
    },

    EnableKey(body) {
      const key = findKey(requiredString(body, 'KeyId'), false);
      if (key.keyState === 'PendingDeletion') throw new KmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
      key.keyState = 'Enabled';
      return undefined;
    },

    DisableKey(body) {
      const key = findKey(requiredString(body, 'KeyId'), false);
      if (key.keyState === 'PendingDeletion') throw new KmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
      key.keyState = 'Disabled';
      return undefined;
    },
  };

  async function handle(req: IncomingMessage, body: Buffer): Promise<{ operation: string; result: Json | undefined }> {
    verifySigV4(req, body, config);
    const targetHeader = canonicalHeaderValue(req.rawHeaders, 'x-amz-target') ?? '';
    const operation = targetHeader.startsWith('TrentService.') ? targetHeader.slice('TrentService.'.length) : '';
    if (req.method !== 'POST' || (req.url ?? '/').split('?')[0] !== '/') {
      throw new KmsError('UnknownOperationException', `The fake KMS answers only POST / (got ${req.method} ${req.url}).`);
    }
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (contentType !== 'application/x-amz-json-1.1') {
      throw new KmsError('UnknownOperationException', `Content-Type must be application/x-amz-json-1.1, got '${contentType}'.`);
    }
    const handler = Object.hasOwn(operations, operation) ? operations[operation] : undefined;
    if (!handler) {
      if (KMS_OPERATIONS.has(operation)) {
        throw new KmsError('UnsupportedOperationException', `The fake KMS does not implement ${operation}.`);
      }
      throw new KmsError('UnknownOperationException', `Unknown operation '${targetHeader}'.`);
    }
    let parsed: unknown;
    const text = body.toString('utf8');
    try {
      parsed = text.trim() === '' ? {} : JSON.parse(text);
    } catch {
      throw new KmsError('SerializationException', 'Could not parse the request body as JSON.');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new KmsError('SerializationException', 'The request body must be a JSON object.');
    }
    return { operation, result: await handler(parsed as Json) };
  }

  function operationOf(req: IncomingMessage): string {
    const target = canonicalHeaderValue(req.rawHeaders, 'x-amz-target') ?? '';
    return target.startsWith('TrentService.') ? target.slice('TrentService.'.length) : '';
  }

  function send(res: ServerResponse, status: number, payload: Json | undefined, extraHeaders: Record<string, string> = {}): void {
    const text = payload === undefined ? '' : JSON.stringify(payload);
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      'content-length': String(Buffer.byteLength(text)),
      'x-amzn-requestid': randomUUID(),
      ...extraHeaders,
    });
    res.end(text);
  }

  const MAX_BODY = 1024 * 1024;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => {
      void (async () => {
        try {
          if (tooLarge) throw new KmsError('RequestEntityTooLargeException', 'Request body too large.', 413);
          const { operation, result } = await handle(req, Buffer.concat(chunks));
          requestLog.push({ operation, status: 200 });
          send(res, 200, result);
        } catch (error) {
          const kmsError =
            error instanceof KmsError
              ? error
              : new KmsError('KMSInternalException', error instanceof Error ? error.message : String(error), 500);
          requestLog.push({ operation: operationOf(req), status: kmsError.status, errorType: kmsError.type });
          send(res, kmsError.status, { __type: kmsError.type, message: kmsError.message }, { 'x-amzn-errortype': kmsError.type });
        }
      })();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  const lookup = (identifier: string): StoredKey | undefined => {
    try {
      return findKey(identifier, true);
    } catch {
      return undefined;
    }
  };

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    region,
    accountId,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
    keys: {
      list: () => [...keys.values()].map(snapshot),
      get: (identifier) => {
        const key = lookup(identifier);
        return key ? snapshot(key) : undefined;
      },
      aliases: () =>
        [...aliases.values()].map((alias) => ({
          aliasName: alias.aliasName,
          aliasArn: aliasArn(alias.aliasName),
          targetKeyId: alias.targetKeyId,
        })),
      tags: (identifier) => {
        const key = lookup(identifier);
        if (!key) throw new Error(`fake KMS: no key ${identifier}`);
        return Object.fromEntries(key.tags);
      },
      signCount: (identifier) => {
        if (identifier === undefined) return [...keys.values()].reduce((sum, key) => sum + key.signCount, 0);
        const key = lookup(identifier);
        if (!key) throw new Error(`fake KMS: no key ${identifier}`);
        return key.signCount;
      },
      publicKey: (identifier) => {
        const key = lookup(identifier);
        if (!key?.publicKey) throw new Error(`fake KMS: no asymmetric key ${identifier}`);
        return key.publicKey;
      },
    },
    requests: () => requestLog.map((entry) => ({ ...entry })),
  };
}
