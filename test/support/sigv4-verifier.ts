// An independent check of AWS Signature Version 4 on requests arriving at a test S3 server:
// s3rver checks only that the access key exists (its SigV4 calculation is unimplemented), so the
// gateway in front of it recomputes each signature from the request as received, written from
// AWS's specification rather than with the client library under test, and refuses a mismatch the
// way S3 does (403 SignatureDoesNotMatch). Presigned URLs (query-string signatures) are checked
// the same way, and refused once expired.
import { createHash, createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

const unreserved = /[A-Za-z0-9\-._~]/;

/** RFC 3986 percent-encoding of every byte but the unreserved characters. */
function uriEncode(text: string): string {
  let out = '';
  for (const character of text) {
    if (unreserved.test(character)) out += character;
    else for (const byte of Buffer.from(character, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const hmac = (key: Buffer | string, text: string) => createHmac('sha256', key).update(text, 'utf8').digest();
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

export type Verdict =
  | { ok: true }
  | { ok: false; code: 'SignatureDoesNotMatch' | 'AccessDenied'; message: string }
  | { ok: 'unknown-key' }
  | { ok: 'unsigned' };

export function verifySigV4(method: string, rawUrl: string, headers: IncomingHttpHeaders, secrets: Record<string, string>, now = new Date()): Verdict {
  const url = new URL(rawUrl, 'http://placeholder');
  const query = [...url.searchParams];
  const presigned = url.searchParams.get('X-Amz-Algorithm') === 'AWS4-HMAC-SHA256';
  let credential: string;
  let signedHeaders: string;
  let signature: string;
  let amzDate: string;
  if (presigned) {
    credential = url.searchParams.get('X-Amz-Credential') ?? '';
    signedHeaders = url.searchParams.get('X-Amz-SignedHeaders') ?? '';
    signature = url.searchParams.get('X-Amz-Signature') ?? '';
    amzDate = url.searchParams.get('X-Amz-Date') ?? '';
  } else {
    const authorization = headers.authorization;
    if (!authorization) return { ok: 'unsigned' };
    const match = /^AWS4-HMAC-SHA256 Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]+)$/.exec(authorization);
    if (!match) return { ok: false, code: 'AccessDenied', message: 'malformed Authorization header' };
    [, credential = '', signedHeaders = '', signature = ''] = match;
    amzDate = String(headers['x-amz-date'] ?? '');
  }
  const [accessKeyId = '', ...scopeParts] = credential.split('/');
  const secret = secrets[accessKeyId];
  if (secret === undefined) return { ok: 'unknown-key' };
  const scope = scopeParts.join('/');
  const [date = '', region = '', service = ''] = scopeParts;

  // The path as received, decoded and encoded again segment by segment (S3 does not normalise it).
  const canonicalUri = url.pathname
    .split('/')
    .map((segment) => uriEncode(decodeURIComponent(segment)))
    .join('/');
  const canonicalQuery = query
    .filter(([name]) => name !== 'X-Amz-Signature')
    .map(([name, value]) => [uriEncode(name), uriEncode(value)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const canonicalHeaders = signedHeaders
    .split(';')
    .map(
      (name) =>
        `${name}:${String(headers[name] ?? '')
          .trim()
          .replace(/\s+/g, ' ')}\n`,
    )
    .join('');
  const payloadHash = presigned ? 'UNSIGNED-PAYLOAD' : String(headers['x-amz-content-sha256'] ?? '');
  const canonicalRequest = [method, canonicalUri, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
  const expected = hmac(signingKey, stringToSign).toString('hex');
  if (expected !== signature) {
    return {
      ok: false,
      code: 'SignatureDoesNotMatch',
      message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    };
  }
  if (presigned) {
    const signedAt = Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
    const expires = Number(url.searchParams.get('X-Amz-Expires'));
    if (!(signedAt + expires * 1000 >= now.getTime())) return { ok: false, code: 'AccessDenied', message: 'Request has expired' };
  }
  return { ok: true };
}
