// The object store: where pipeline template bodies (and later job logs, release assets and plugin
// binaries) live, behind one interface with two implementations chosen by
// PHOBOS_OBJECT_STORE_PLUGIN_TYPE: the Worker's R2 binding (r2.ts) and S3 or any S3-compatible
// service (s3.ts). Callers see the same operations, the same metadata and the same typed errors
// whichever store runs, so a service never branches on the store type.

export type ObjectBody = string | ArrayBuffer | Uint8Array | ReadableStream<Uint8Array>;

export interface PutOptions {
  contentType?: string;
  /**
   * Hex SHA-256 the body must have. The store refuses a body that does not match
   * (`checksum_mismatch`), and nothing is written.
   */
  sha256?: string;
}

export interface MultipartOptions extends PutOptions {
  /** Bytes per part (the last one may be smaller): at least 5 MiB; 8 MiB when omitted. */
  partSize?: number;
}

/** A byte range of an object: `length` omitted means to the end. */
export interface ByteRange {
  offset: number;
  length?: number;
}

export interface GetOptions {
  range?: ByteRange;
}

export interface ObjectMetadata {
  key: string;
  /** Size of the whole object in bytes. */
  size: number;
  /** The store's entity tag, without quotes. */
  etag: string;
  contentType: string | undefined;
  uploaded: Date;
}

export interface ObjectContent extends ObjectMetadata {
  body: ReadableStream<Uint8Array>;
  /** The bytes `body` holds: the whole object ({ offset: 0, length: size }) unless a range was asked. */
  range: { offset: number; length: number };
}

export interface ListedObject {
  key: string;
  size: number;
  etag: string;
  uploaded: Date;
}

export interface ListOptions {
  prefix: string;
  /** The `cursor` of the previous page. */
  cursor?: string;
  /** Objects per page, 1–1000 (1000 when omitted). */
  limit?: number;
}

export interface ObjectList {
  objects: ListedObject[];
  /** Present when more objects follow: pass it back as `cursor` for the next page. */
  cursor?: string;
}

export interface ObjectStore {
  /** Writes an object whole; a stream goes through `putMultipart` (its length is not known in advance). */
  put(key: string, body: ObjectBody, options?: PutOptions): Promise<ObjectMetadata>;
  /** The object (or one range of it), or null when there is no such key. */
  get(key: string, options?: GetOptions): Promise<ObjectContent | null>;
  head(key: string): Promise<ObjectMetadata | null>;
  /** Removes the object; removing a key that does not exist succeeds. */
  delete(key: string): Promise<void>;
  list(options: ListOptions): Promise<ObjectList>;
  /**
   * Streams `stream` into the store in parts of `partSize` bytes, holding at most one part in
   * memory, so an object may be far larger than a Worker's memory. A stream that ends within the
   * first part is written with one plain put. On any failure (the stream errors, a part is refused,
   * the checksum does not match) the upload is aborted and nothing is written.
   */
  putMultipart(key: string, stream: ReadableStream<Uint8Array>, options?: MultipartOptions): Promise<ObjectMetadata>;
  /** A URL anyone holding it may GET the object from, until `expiresInSeconds` from now. */
  presignGet(key: string, expiresInSeconds: number): Promise<string>;
  /**
   * Presigned multipart uploads, for bodies that never pass through the Worker whole: open an
   * upload, hand out one URL per part (the client PUTs each part to its URL and keeps the answer's
   * ETag), then complete it with the parts' ETags, or abort it.
   */
  createMultipartUpload(key: string, options?: { contentType?: string }): Promise<string>;
  /** A URL the part may be PUT to (exactly `sizeBytes` bytes), until `expiresInSeconds` from now. */
  presignUploadPart(key: string, uploadId: string, part: { partNumber: number; sizeBytes: number }, expiresInSeconds: number): Promise<string>;
  /** Stores one part of an open upload; its ETag (quotes removed). */
  uploadPart(key: string, uploadId: string, partNumber: number, body: ReadableStream<Uint8Array> | Uint8Array<ArrayBuffer>): Promise<string>;
  completeMultipartUpload(key: string, uploadId: string, parts: readonly UploadedPart[]): Promise<ObjectMetadata>;
  /** Ends an open upload and drops its parts; an upload that is already gone is not an error. */
  abortMultipartUpload(key: string, uploadId: string): Promise<void>;
}

export interface UploadedPart {
  partNumber: number;
  etag: string;
}

/** S3's (and R2's) largest part number. */
export const maximumPartNumber = 10_000;

export type ObjectStoreErrorCode =
  /** The bucket does not exist (or the R2 binding is missing). */
  | 'bucket_not_found'
  /** The store refused the credentials or their permissions. */
  | 'access_denied'
  /** The range starts at or past the end of the object, or is not a range at all. */
  | 'invalid_range'
  /** The body's SHA-256 is not the one the caller gave. */
  | 'checksum_mismatch'
  /** A key, limit, part size or expiry the store cannot take. */
  | 'invalid_argument'
  /** The store did not answer, or kept failing (5xx, 429) after the retries. */
  | 'unavailable'
  /** The store refused the request for another reason, named in the message. */
  | 'request_failed';

/**
 * Every failure of an object store. The message names what to check (a variable, a binding, the
 * key) and never includes a credential.
 */
export class ObjectStoreError extends Error {
  constructor(
    readonly code: ObjectStoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ObjectStoreError';
  }
}

const mebibyte = 1024 * 1024;
/** S3's (and R2's) smallest part except the last. */
const minimumPartSize = 5 * mebibyte;
export const defaultPartSize = 8 * mebibyte;
/** S3's largest part. */
const maximumPartSize = 5 * 1024 * mebibyte;
/** S3's (and R2's) longest key, in UTF-8 bytes. */
const maximumKeyBytes = 1024;
/** The longest a presigned URL may live (S3's SigV4 limit: 7 days). */
const maximumPresignSeconds = 7 * 24 * 3600;

export function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new ObjectStoreError('invalid_argument', 'object key: must not be empty');
  if (new TextEncoder().encode(key).length > maximumKeyBytes) {
    throw new ObjectStoreError('invalid_argument', `object key: must be at most ${maximumKeyBytes} bytes of UTF-8`);
  }
  // URLs resolve these segments away (S3 requests and download links carry the key in a URL).
  if (key.split('/').some((segment) => segment === '.' || segment === '..')) {
    throw new ObjectStoreError('invalid_argument', `object key "${key}": must not contain "." or ".." path segments`);
  }
}

export function checkPartSize(partSize: number): void {
  if (!Number.isSafeInteger(partSize) || partSize < minimumPartSize || partSize > maximumPartSize) {
    throw new ObjectStoreError('invalid_argument', `partSize: must be a whole number of bytes from ${minimumPartSize} (5 MiB) to ${maximumPartSize} (5 GiB)`);
  }
}

export function checkListLimit(limit: number | undefined): number {
  if (limit === undefined) return 1000;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) throw new ObjectStoreError('invalid_argument', 'limit: must be a whole number from 1 to 1000');
  return limit;
}

export function checkExpiry(expiresInSeconds: number): void {
  if (!Number.isSafeInteger(expiresInSeconds) || expiresInSeconds < 1 || expiresInSeconds > maximumPresignSeconds) {
    throw new ObjectStoreError('invalid_argument', `expiresInSeconds: must be a whole number from 1 to ${maximumPresignSeconds} (7 days)`);
  }
}

/** Refuses ranges no store could serve before asking one (negative, fractional, empty). */
export function checkRange(range: ByteRange | undefined): void {
  if (!range) return;
  const { offset, length } = range;
  if (!Number.isSafeInteger(offset) || offset < 0) throw new ObjectStoreError('invalid_range', 'range.offset: must be a whole number of bytes, 0 or more');
  if (length !== undefined && (!Number.isSafeInteger(length) || length < 1)) {
    throw new ObjectStoreError('invalid_range', 'range.length: must be a whole number of bytes, 1 or more');
  }
}

export const rangePastEnd = (key: string, offset: number, size: number) =>
  new ObjectStoreError('invalid_range', `range of "${key}": offset ${offset} is not before the end of the object (${size} bytes)`);
