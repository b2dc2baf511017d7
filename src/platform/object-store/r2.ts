// The `r2` object store: the Worker's R2 binding (OBJECTS in wrangler.toml). The binding needs no
// credentials, and so cannot presign: presigned downloads are Worker-signed URLs of
// GET /objects/download (signed-download.ts).
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
  rangePastEnd,
  type UploadedPart,
} from './object-store';
import { signedDownloadUrl, signedUploadPartUrl } from './signed-download';
import { type Bytes, bytesOf, checkSha256, type MultipartSession, uploadStream } from './streamed-upload';

export interface R2StoreOptions {
  /** For presigned downloads: PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_ENCRYPTION_KEY. */
  signingSecret: string | undefined;
  /** For presigned downloads: PHOBOS_API_URL, where GET /objects/download is served. */
  apiUrl: string;
}

// R2 reports errors as exceptions whose message ends with its numeric code, e.g.
// "get: The specified bucket does not exist. (10006)".
const r2Codes: Record<string, ObjectStoreError['code']> = {
  '10002': 'access_denied',
  '10003': 'access_denied',
  '10006': 'bucket_not_found',
  '10035': 'access_denied',
  '10037': 'checksum_mismatch',
  '10039': 'invalid_range',
  '10043': 'unavailable',
  '10058': 'unavailable',
  '10001': 'unavailable',
  // A multipart completion naming parts the upload does not have (or wrong ETags).
  '10025': 'invalid_argument',
};

function r2Error(operation: string, key: string, error: unknown): ObjectStoreError {
  if (error instanceof ObjectStoreError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const number = /\((\d{5})\)\s*$/.exec(message)?.[1];
  let code = number ? r2Codes[number] : undefined;
  if (!code && /sha-?256|digest|checksum/i.test(message)) code = 'checksum_mismatch';
  code ??= 'unavailable';
  const hint =
    code === 'bucket_not_found'
      ? ': the bucket bound as OBJECTS in wrangler.toml does not exist'
      : code === 'access_denied'
        ? ': the OBJECTS binding may not access this bucket'
        : '';
  return new ObjectStoreError(code, `R2 ${operation} of "${key}" failed (${message})${hint}`, { cause: error });
}

const metadataOf = (object: R2Object): ObjectMetadata => ({
  key: object.key,
  size: object.size,
  etag: object.etag,
  contentType: object.httpMetadata?.contentType,
  uploaded: object.uploaded,
});

class R2ObjectStore implements ObjectStore {
  constructor(
    private readonly bucket: R2Bucket,
    private readonly options: R2StoreOptions,
  ) {}

  async put(key: string, body: ObjectBody, options: PutOptions = {}): Promise<ObjectMetadata> {
    checkKey(key);
    if (body instanceof ReadableStream) return this.putMultipart(key, body, options);
    return this.putWhole(key, bytesOf(body), options);
  }

  private async putWhole(key: string, bytes: Bytes, options: PutOptions): Promise<ObjectMetadata> {
    const sha256 = checkSha256(options.sha256);
    try {
      const object = await this.bucket.put(key, bytes, { httpMetadata: options.contentType ? { contentType: options.contentType } : undefined, sha256 });
      if (!object) throw new ObjectStoreError('request_failed', `R2 put of "${key}" wrote nothing`);
      return metadataOf(object);
    } catch (error) {
      throw r2Error('put', key, error);
    }
  }

  async get(key: string, options: GetOptions = {}): Promise<ObjectContent | null> {
    checkKey(key);
    const { range } = options;
    checkRange(range);
    let object: R2ObjectBody | R2Object | null;
    try {
      object = await this.bucket.get(
        key,
        range ? { range: range.length === undefined ? { offset: range.offset } : { offset: range.offset, length: range.length } } : undefined,
      );
    } catch (error) {
      throw r2Error('get', key, error);
    }
    if (!object) return null;
    // R2 answers a range starting past the end with the object's metadata and no body.
    if (!('body' in object) || (range && range.offset >= object.size)) {
      if ('body' in object) await object.body.cancel();
      throw rangePastEnd(key, range?.offset ?? 0, object.size);
    }
    const offset = range?.offset ?? 0;
    const length = Math.min(range?.length ?? object.size - offset, object.size - offset);
    return { ...metadataOf(object), body: object.body, range: { offset, length } };
  }

  async head(key: string): Promise<ObjectMetadata | null> {
    checkKey(key);
    try {
      const object = await this.bucket.head(key);
      return object ? metadataOf(object) : null;
    } catch (error) {
      throw r2Error('head', key, error);
    }
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    try {
      await this.bucket.delete(key);
    } catch (error) {
      throw r2Error('delete', key, error);
    }
  }

  async list(options: ListOptions): Promise<ObjectList> {
    const limit = checkListLimit(options.limit);
    try {
      const page = await this.bucket.list({ prefix: options.prefix, cursor: options.cursor, limit });
      return {
        objects: page.objects.map((object) => ({ key: object.key, size: object.size, etag: object.etag, uploaded: object.uploaded })),
        ...(page.truncated ? { cursor: page.cursor } : {}),
      };
    } catch (error) {
      throw r2Error('list', options.prefix, error);
    }
  }

  async putMultipart(key: string, stream: ReadableStream<Uint8Array>, options: MultipartOptions = {}): Promise<ObjectMetadata> {
    checkKey(key);
    return uploadStream(
      {
        key,
        putWhole: (bytes, putOptions) => this.putWhole(key, bytes, putOptions),
        begin: () => this.begin(key, options.contentType),
      },
      stream,
      options,
    );
  }

  private async begin(key: string, contentType: string | undefined): Promise<MultipartSession> {
    let upload: R2MultipartUpload;
    try {
      upload = await this.bucket.createMultipartUpload(key, { httpMetadata: contentType ? { contentType } : undefined });
    } catch (error) {
      throw r2Error('multipart upload', key, error);
    }
    const parts: R2UploadedPart[] = [];
    return {
      uploadPart: async (partNumber, bytes) => {
        try {
          parts.push(await upload.uploadPart(partNumber, bytes));
        } catch (error) {
          throw r2Error(`upload of part ${partNumber}`, key, error);
        }
      },
      complete: async () => {
        try {
          return metadataOf(await upload.complete(parts));
        } catch (error) {
          throw r2Error('multipart completion', key, error);
        }
      },
      abort: () => upload.abort(),
    };
  }

  async presignGet(key: string, expiresInSeconds: number): Promise<string> {
    checkKey(key);
    checkExpiry(expiresInSeconds);
    const secret = this.options.signingSecret;
    if (!secret) {
      throw new ObjectStoreError('unavailable', 'presigned downloads from R2 are signed by the Worker: set PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_ENCRYPTION_KEY');
    }
    return signedDownloadUrl(secret, this.options.apiUrl, key, Math.floor(Date.now() / 1000) + expiresInSeconds);
  }

  async createMultipartUpload(key: string, options: { contentType?: string } = {}): Promise<string> {
    checkKey(key);
    try {
      const upload = await this.bucket.createMultipartUpload(key, { httpMetadata: options.contentType ? { contentType: options.contentType } : undefined });
      return upload.uploadId;
    } catch (error) {
      throw r2Error('multipart upload', key, error);
    }
  }

  /** A Worker-signed URL of PUT /objects/upload-part (an R2 binding cannot presign). */
  async presignUploadPart(key: string, uploadId: string, part: { partNumber: number; sizeBytes: number }, expiresInSeconds: number): Promise<string> {
    checkKey(key);
    checkExpiry(expiresInSeconds);
    const secret = this.options.signingSecret;
    if (!secret) {
      throw new ObjectStoreError('unavailable', 'presigned uploads to R2 are signed by the Worker: set PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_ENCRYPTION_KEY');
    }
    return signedUploadPartUrl(secret, this.options.apiUrl, { key, uploadId, ...part }, Math.floor(Date.now() / 1000) + expiresInSeconds);
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: ReadableStream<Uint8Array> | Uint8Array<ArrayBuffer>): Promise<string> {
    checkKey(key);
    try {
      return (await this.bucket.resumeMultipartUpload(key, uploadId).uploadPart(partNumber, body)).etag;
    } catch (error) {
      throw r2Error(`upload of part ${partNumber}`, key, error);
    }
  }

  async completeMultipartUpload(key: string, uploadId: string, parts: readonly UploadedPart[]): Promise<ObjectMetadata> {
    checkKey(key);
    try {
      return metadataOf(
        await this.bucket
          .resumeMultipartUpload(key, uploadId)
          .complete(parts.map(({ partNumber, etag }) => ({ partNumber, etag: etag.replace(/^(W\/)?"|"$/g, '') }))),
      );
    } catch (error) {
      throw r2Error('multipart completion', key, error);
    }
  }

  async abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    checkKey(key);
    try {
      await this.bucket.resumeMultipartUpload(key, uploadId).abort();
    } catch {
      // Already completed or aborted: nothing is left to drop.
    }
  }
}

export function createR2ObjectStore(bucket: R2Bucket, options: R2StoreOptions): ObjectStore {
  return new R2ObjectStore(bucket, options);
}
