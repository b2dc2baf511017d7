// The `aws_s3` object store: Amazon S3 or any S3-compatible service (MinIO, R2's S3 API, ...)
// over plain fetch, signed with SigV4 by aws4fetch. With a custom endpoint, requests are
// path-style (`<endpoint>/<bucket>/<key>`, what MinIO and most self-hosted services expect);
// without one, virtual-hosted (`https://<bucket>.s3.<region>.amazonaws.com/<key>`). Every request
// goes through fetchWithRetry (retry.ts): 5xx, 429 and network failures are retried with bounded
// backoff, other 4xx never.
import { AwsClient } from 'aws4fetch';
import { hexEncode } from '../encoding';
import {
  checkExpiry,
  checkKey,
  checkListLimit,
  checkRange,
  type GetOptions,
  type ListOptions,
  type MultipartOptions,
  type ObjectBody,
  type ObjectContent,
  type ObjectList,
  type ObjectMetadata,
  type ObjectStore,
  ObjectStoreError,
  type PutOptions,
  type UploadedPart,
} from './object-store';
import { defaultRetryPolicy, fetchWithRetry, RetriesExhausted, type RetryPolicy } from './retry';
import { escapeXml, xmlElements, xmlText } from './s3-xml';
import { type Bytes, bytesOf, checkSha256, type MultipartSession, uploadStream } from './streamed-upload';

export interface S3StoreOptions {
  bucket: string;
  /** us-east-1 when omitted (MinIO's default too). */
  region?: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** A custom endpoint (MinIO, R2's S3 API, ...): requests become path-style. */
  endpoint?: string;
  /** How failed requests are retried; defaults: 3 retries from 100 ms, each delay at most 2 s. */
  retry?: Partial<RetryPolicy>;
}

const accessCodes = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'RequestTimeTooSkewed',
  'AllAccessDisabled',
]);
const checksumCodes = new Set(['BadDigest', 'XAmzContentSHA256Mismatch', 'InvalidDigest']);

/** Path segments percent-encoded as SigV4's canonical URI spells them (RFC 3986 unreserved kept). */
function encodeKey(key: string): string {
  return key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}

const unquote = (etag: string | null) => (etag ?? '').replace(/^(W\/)?"|"$/g, '');

function dateOf(value: string | null | undefined): Date {
  const parsed = value ? new Date(value) : undefined;
  return parsed && !Number.isNaN(parsed.getTime()) ? parsed : new Date();
}

const emptyBody = () => new ReadableStream<Uint8Array>({ start: (controller) => controller.close() });

class S3ObjectStore implements ObjectStore {
  private readonly client: AwsClient;
  private readonly bucketUrl: string;
  private readonly retry: RetryPolicy;
  private readonly bucket: string;

  constructor(options: S3StoreOptions) {
    const region = options.region ?? 'us-east-1';
    this.bucket = options.bucket;
    // Retries are ours (fetchWithRetry), not aws4fetch's, so network failures are retried too.
    this.client = new AwsClient({ accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey, service: 's3', region, retries: 0 });
    this.bucketUrl = options.endpoint
      ? `${options.endpoint.replace(/\/+$/, '')}/${encodeURIComponent(options.bucket)}`
      : `https://${options.bucket}.s3.${region}.amazonaws.com`;
    this.retry = { ...defaultRetryPolicy, ...options.retry };
  }

  private objectUrl(key: string, query: Record<string, string> = {}): URL {
    const url = new URL(`${this.bucketUrl}/${encodeKey(key)}`);
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
    return url;
  }

  private async send(operation: string, key: string, url: URL, init: RequestInit): Promise<Response> {
    try {
      return await fetchWithRetry(async () => fetch(await this.client.sign(url.toString(), init)), this.retry);
    } catch (error) {
      if (!(error instanceof RetriesExhausted)) throw error;
      const why = error.lastStatus === undefined ? 'no answer' : `last status ${error.lastStatus}`;
      throw new ObjectStoreError(
        'unavailable',
        `S3 ${operation} of "${key}" failed after ${error.attempts} attempts (${why}) at ${url.host}: the store is unavailable`,
        {
          cause: error.cause,
        },
      );
    }
  }

  /** The typed error of a refused request, from S3's `<Error>` document (or the status alone). */
  private async refusal(operation: string, key: string, response: Response): Promise<ObjectStoreError> {
    const text = await response.text().catch(() => '');
    return this.errorFor(operation, key, response.status, xmlText(text, 'Code'), xmlText(text, 'Message'));
  }

  private errorFor(operation: string, key: string, status: number, code: string | undefined, message: string | undefined): ObjectStoreError {
    const said = `${code ?? `HTTP ${status}`}${message ? `: ${message.slice(0, 200)}` : ''}`;
    if (code === 'NoSuchBucket') {
      return new ObjectStoreError(
        'bucket_not_found',
        `S3 bucket "${this.bucket}" does not exist (${said}): check PHOBOS_OBJECT_STORE_PLUGIN_DATA_BUCKET, PHOBOS_OBJECT_STORE_PLUGIN_DATA_ENDPOINT and PHOBOS_OBJECT_STORE_PLUGIN_DATA_REGION`,
      );
    }
    if ((code && accessCodes.has(code)) || (!code && (status === 401 || status === 403))) {
      return new ObjectStoreError(
        'access_denied',
        `S3 refused ${operation} of "${key}" in bucket "${this.bucket}" (${said}): check PHOBOS_OBJECT_STORE_PLUGIN_DATA_AWS_ACCESS_KEY_ID, PHOBOS_OBJECT_STORE_PLUGIN_DATA_AWS_SECRET_ACCESS_KEY and the key's permissions on the bucket`,
      );
    }
    if (code === 'InvalidRange' || status === 416) return new ObjectStoreError('invalid_range', `range of "${key}" is not satisfiable (${said})`);
    if (code && checksumCodes.has(code)) return new ObjectStoreError('checksum_mismatch', `"${key}": S3 says the body does not match its SHA-256 (${said})`);
    return new ObjectStoreError('request_failed', `S3 ${operation} of "${key}" in bucket "${this.bucket}" was refused (${said})`);
  }

  async put(key: string, body: ObjectBody, options: PutOptions = {}): Promise<ObjectMetadata> {
    checkKey(key);
    if (body instanceof ReadableStream) return this.putMultipart(key, body, options);
    return this.putWhole(key, bytesOf(body), options);
  }

  private async putWhole(key: string, bytes: Bytes, options: PutOptions): Promise<ObjectMetadata> {
    const expected = checkSha256(options.sha256);
    const headers: Record<string, string> = { 'content-type': options.contentType ?? 'application/octet-stream' };
    if (expected !== undefined) {
      // Checked here too: not every S3-compatible service verifies the signed payload hash.
      const actual = hexEncode(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));
      if (actual !== expected)
        throw new ObjectStoreError('checksum_mismatch', `"${key}": the body's SHA-256 is ${actual}, not the expected ${expected}; nothing was written`);
      headers['x-amz-content-sha256'] = expected;
    }
    const response = await this.send('put', key, this.objectUrl(key), { method: 'PUT', headers, body: bytes });
    if (!response.ok) throw await this.refusal('put', key, response);
    await response.body?.cancel();
    return {
      key,
      size: bytes.length,
      etag: unquote(response.headers.get('etag')),
      contentType: headers['content-type'],
      uploaded: dateOf(response.headers.get('date')),
    };
  }

  async get(key: string, options: GetOptions = {}): Promise<ObjectContent | null> {
    checkKey(key);
    const { range } = options;
    checkRange(range);
    const headers: Record<string, string> = {};
    if (range) headers.range = `bytes=${range.offset}-${range.length === undefined ? '' : range.offset + range.length - 1}`;
    const response = await this.send('get', key, this.objectUrl(key), { method: 'GET', headers });
    if (response.status === 404) {
      const error = await this.refusal('get', key, response);
      if (error.code === 'request_failed') return null;
      throw error;
    }
    if (!response.ok) throw await this.refusal('get', key, response);
    const contentRange = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(response.headers.get('content-range') ?? '');
    const length = Number(response.headers.get('content-length') ?? 0);
    const size = contentRange ? Number(contentRange[3]) : length;
    const served = contentRange
      ? { offset: Number(contentRange[1]), length: Number(contentRange[2]) - Number(contentRange[1]) + 1 }
      : { offset: 0, length: size };
    return {
      key,
      size,
      etag: unquote(response.headers.get('etag')),
      contentType: response.headers.get('content-type') ?? undefined,
      uploaded: dateOf(response.headers.get('last-modified')),
      body: response.body ?? emptyBody(),
      range: served,
    };
  }

  async head(key: string): Promise<ObjectMetadata | null> {
    checkKey(key);
    const response = await this.send('head', key, this.objectUrl(key), { method: 'HEAD' });
    // A HEAD answer has no body to tell a missing key from a missing bucket: both are "not there".
    if (response.status === 404) return null;
    if (!response.ok) throw this.errorFor('head', key, response.status, undefined, undefined);
    return {
      key,
      size: Number(response.headers.get('content-length') ?? 0),
      etag: unquote(response.headers.get('etag')),
      contentType: response.headers.get('content-type') ?? undefined,
      uploaded: dateOf(response.headers.get('last-modified')),
    };
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    const response = await this.send('delete', key, this.objectUrl(key), { method: 'DELETE' });
    if (response.ok) {
      await response.body?.cancel();
      return;
    }
    const error = await this.refusal('delete', key, response);
    // Some S3-compatible services answer NoSuchKey where S3 answers 204: the key is gone either way.
    if (response.status === 404 && error.code === 'request_failed') return;
    throw error;
  }

  async list(options: ListOptions): Promise<ObjectList> {
    const limit = checkListLimit(options.limit);
    const url = new URL(this.bucketUrl);
    url.searchParams.set('list-type', '2');
    url.searchParams.set('prefix', options.prefix);
    url.searchParams.set('max-keys', String(limit));
    if (options.cursor) url.searchParams.set('continuation-token', options.cursor);
    const response = await this.send('list', options.prefix, url, { method: 'GET' });
    if (!response.ok) throw await this.refusal('list', options.prefix, response);
    const xml = await response.text();
    const objects = xmlElements(xml, 'Contents').map((entry) => ({
      key: xmlText(entry, 'Key') ?? '',
      size: Number(xmlText(entry, 'Size') ?? 0),
      etag: unquote(xmlText(entry, 'ETag') ?? ''),
      uploaded: dateOf(xmlText(entry, 'LastModified')),
    }));
    const cursor = xmlText(xml, 'IsTruncated') === 'true' ? xmlText(xml, 'NextContinuationToken') : undefined;
    return cursor ? { objects, cursor } : { objects };
  }

  async putMultipart(key: string, stream: ReadableStream<Uint8Array>, options: MultipartOptions = {}): Promise<ObjectMetadata> {
    checkKey(key);
    return uploadStream(
      {
        key,
        putWhole: (bytes, putOptions) => this.putWhole(key, bytes, putOptions),
        begin: () => this.begin(key, options.contentType ?? 'application/octet-stream'),
      },
      stream,
      options,
    );
  }

  private async begin(key: string, contentType: string): Promise<MultipartSession> {
    const started = await this.send('multipart upload', key, this.objectUrl(key, { uploads: '' }), {
      method: 'POST',
      headers: { 'content-type': contentType },
    });
    if (!started.ok) throw await this.refusal('multipart upload', key, started);
    const uploadId = xmlText(await started.text(), 'UploadId');
    if (!uploadId) throw new ObjectStoreError('request_failed', `S3 multipart upload of "${key}": the answer carried no UploadId`);
    const parts: { partNumber: number; etag: string }[] = [];
    let size = 0;
    return {
      uploadPart: async (partNumber, bytes) => {
        const response = await this.send(`upload of part ${partNumber}`, key, this.objectUrl(key, { partNumber: String(partNumber), uploadId }), {
          method: 'PUT',
          body: bytes,
        });
        if (!response.ok) throw await this.refusal(`upload of part ${partNumber}`, key, response);
        await response.body?.cancel();
        parts.push({ partNumber, etag: response.headers.get('etag') ?? '' });
        size += bytes.length;
      },
      complete: async () => {
        const document = `<CompleteMultipartUpload>${parts
          .map(({ partNumber, etag }) => `<Part><PartNumber>${partNumber}</PartNumber><ETag>${escapeXml(etag)}</ETag></Part>`)
          .join('')}</CompleteMultipartUpload>`;
        const response = await this.send('multipart completion', key, this.objectUrl(key, { uploadId }), {
          method: 'POST',
          headers: { 'content-type': 'application/xml' },
          body: document,
        });
        const text = await response.text();
        // S3 may answer 200 and still fail: the error is then the body's root element.
        const failed = !response.ok || /<Error>/.test(text);
        if (failed) throw this.errorFor('multipart completion', key, response.status, xmlText(text, 'Code'), xmlText(text, 'Message'));
        return { key, size, etag: unquote(xmlText(text, 'ETag') ?? ''), contentType, uploaded: dateOf(response.headers.get('date')) };
      },
      abort: async () => {
        const response = await this.send('multipart abort', key, this.objectUrl(key, { uploadId }), { method: 'DELETE' });
        await response.body?.cancel();
      },
    };
  }

  async presignGet(key: string, expiresInSeconds: number): Promise<string> {
    checkKey(key);
    checkExpiry(expiresInSeconds);
    const url = this.objectUrl(key, { 'X-Amz-Expires': String(expiresInSeconds) });
    const signed = await this.client.sign(url.toString(), { method: 'GET', aws: { signQuery: true } });
    return signed.url;
  }

  async createMultipartUpload(key: string, options: { contentType?: string } = {}): Promise<string> {
    checkKey(key);
    const started = await this.send('multipart upload', key, this.objectUrl(key, { uploads: '' }), {
      method: 'POST',
      headers: { 'content-type': options.contentType ?? 'application/octet-stream' },
    });
    if (!started.ok) throw await this.refusal('multipart upload', key, started);
    const uploadId = xmlText(await started.text(), 'UploadId');
    if (!uploadId) throw new ObjectStoreError('request_failed', `S3 multipart upload of "${key}": the answer carried no UploadId`);
    return uploadId;
  }

  /**
   * A SigV4 query-signed UploadPart URL. S3 cannot bind a presigned URL to a length (Content-Length
   * is not signable), so the size is checked when the upload is completed.
   */
  async presignUploadPart(key: string, uploadId: string, part: { partNumber: number; sizeBytes: number }, expiresInSeconds: number): Promise<string> {
    checkKey(key);
    checkExpiry(expiresInSeconds);
    const url = this.objectUrl(key, { partNumber: String(part.partNumber), uploadId, 'X-Amz-Expires': String(expiresInSeconds) });
    const signed = await this.client.sign(url.toString(), { method: 'PUT', aws: { signQuery: true } });
    return signed.url;
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: ReadableStream<Uint8Array> | Uint8Array<ArrayBuffer>): Promise<string> {
    checkKey(key);
    const bytes = body instanceof ReadableStream ? new Uint8Array(await new Response(body).arrayBuffer()) : body;
    const response = await this.send(`upload of part ${partNumber}`, key, this.objectUrl(key, { partNumber: String(partNumber), uploadId }), {
      method: 'PUT',
      body: bytes,
    });
    if (!response.ok) throw await this.refusal(`upload of part ${partNumber}`, key, response);
    await response.body?.cancel();
    return unquote(response.headers.get('etag'));
  }

  async completeMultipartUpload(key: string, uploadId: string, parts: readonly UploadedPart[]): Promise<ObjectMetadata> {
    checkKey(key);
    const document = `<CompleteMultipartUpload>${parts
      .map(({ partNumber, etag }) => `<Part><PartNumber>${partNumber}</PartNumber><ETag>"${escapeXml(unquote(etag))}"</ETag></Part>`)
      .join('')}</CompleteMultipartUpload>`;
    const response = await this.send('multipart completion', key, this.objectUrl(key, { uploadId }), {
      method: 'POST',
      headers: { 'content-type': 'application/xml' },
      body: document,
    });
    const text = await response.text();
    if (!response.ok || /<Error>/.test(text))
      throw this.errorFor('multipart completion', key, response.status, xmlText(text, 'Code'), xmlText(text, 'Message'));
    const head = await this.head(key);
    if (!head) throw new ObjectStoreError('request_failed', `S3 multipart completion of "${key}": the object is not there afterwards`);
    return head;
  }

  async abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    checkKey(key);
    const response = await this.send('multipart abort', key, this.objectUrl(key, { uploadId }), { method: 'DELETE' });
    await response.body?.cancel();
  }
}

export function createS3ObjectStore(options: S3StoreOptions): ObjectStore {
  return new S3ObjectStore(options);
}
