// Streaming an object of unknown length into a store, shared by both stores: the stream is cut
// into parts of exactly `partSize` bytes (S3 wants every part but the last to be at least 5 MiB;
// R2 also wants them all the same size), and each part is uploaded before the next is read, so
// memory holds one part whatever the object's size. A stream that ends within its first part is
// written with one plain put instead (a multipart upload costs three requests at least).
import { sha256 } from '@noble/hashes/sha2.js';
import { hexEncode } from '../encoding';
import { checkPartSize, defaultPartSize, type MultipartOptions, type ObjectBody, type ObjectMetadata, ObjectStoreError, type PutOptions } from './object-store';

/** One multipart upload under way in a store. */
export interface MultipartSession {
  uploadPart(partNumber: number, bytes: Bytes): Promise<void>;
  complete(): Promise<ObjectMetadata>;
  abort(): Promise<void>;
}

/** What a store gives `uploadStream`: a whole-object put and a way to start a multipart upload. */
export interface UploadTarget {
  key: string;
  putWhole(bytes: Bytes, options: PutOptions): Promise<ObjectMetadata>;
  begin(): Promise<MultipartSession>;
}

/** Bytes over a plain ArrayBuffer: what fetch and R2 accept as a body. */
export type Bytes = Uint8Array<ArrayBuffer>;

const sha256Pattern = /^[0-9a-f]{64}$/;

/** The expected SHA-256 in lower case, or a typed error naming the option. */
export function checkSha256(expected: string | undefined): string | undefined {
  if (expected === undefined) return undefined;
  const normalized = expected.toLowerCase();
  if (!sha256Pattern.test(normalized)) throw new ObjectStoreError('invalid_argument', 'sha256: must be 64 hexadecimal digits (the SHA-256 of the body)');
  return normalized;
}

/** The bytes of a whole (non-stream) body. */
export function bytesOf(body: Exclude<ObjectBody, ReadableStream>): Bytes {
  if (typeof body === 'string') return new TextEncoder().encode(body);
  if (body instanceof Uint8Array) return body as Bytes;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  throw new ObjectStoreError('invalid_argument', 'body: must be a string, ArrayBuffer, Uint8Array or ReadableStream');
}

function chunkBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new ObjectStoreError('invalid_argument', 'body: a stream must yield bytes (Uint8Array chunks)');
}

interface Part {
  bytes: Bytes;
  /** True for the last part (the stream has ended). */
  final: boolean;
}

/**
 * The parts of `reader`'s bytes. The next part's buffer is allocated only when the consumer asks
 * for it, i.e. after it has finished uploading the previous one.
 */
async function* partsOf(reader: ReadableStreamDefaultReader<Uint8Array>, partSize: number): AsyncGenerator<Part> {
  let part = new Uint8Array(partSize);
  let filled = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const chunk = chunkBytes(value);
    let at = 0;
    while (at < chunk.length) {
      const take = Math.min(partSize - filled, chunk.length - at);
      part.set(chunk.subarray(at, at + take), filled);
      filled += take;
      at += take;
      if (filled === partSize) {
        yield { bytes: part, final: false };
        part = new Uint8Array(partSize);
        filled = 0;
      }
    }
  }
  yield { bytes: part.subarray(0, filled), final: true };
}

export async function uploadStream(target: UploadTarget, stream: ReadableStream<Uint8Array>, options: MultipartOptions = {}): Promise<ObjectMetadata> {
  const partSize = options.partSize ?? defaultPartSize;
  checkPartSize(partSize);
  const expectedSha256 = checkSha256(options.sha256);
  const reader = stream.getReader();
  const hash = sha256.create();
  let session: MultipartSession | undefined;
  let partNumber = 0;
  try {
    for await (const part of partsOf(reader, partSize)) {
      if (part.final && partNumber === 0) {
        return await target.putWhole(part.bytes, { contentType: options.contentType, sha256: expectedSha256 });
      }
      // A stream ending exactly on a part boundary leaves an empty last part, which S3 refuses.
      if (part.final && part.bytes.length === 0) break;
      session ??= await target.begin();
      hash.update(part.bytes);
      partNumber += 1;
      await session.uploadPart(partNumber, part.bytes);
    }
    if (!session) throw new Error('unreachable: a stream yields a final part');
    if (expectedSha256 !== undefined) {
      const actual = hexEncode(hash.digest());
      if (actual !== expectedSha256) {
        throw new ObjectStoreError(
          'checksum_mismatch',
          `"${target.key}": the streamed body's SHA-256 is ${actual}, not the expected ${expectedSha256}; nothing was written`,
        );
      }
    }
    return await session.complete();
  } catch (error) {
    // Stop the source and drop the parts already stored; the original failure is what the caller
    // needs to see, so a failing abort (already gone, store down) does not replace it.
    await reader.cancel(error).catch(() => {});
    if (session) await session.abort().catch(() => {});
    throw error;
  } finally {
    reader.releaseLock();
  }
}
