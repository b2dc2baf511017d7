// The `aws_s3` object store against a real S3-compatible server: s3rver, in-process on a port of
// its own, storing in a temporary directory (its credentials are S3RVER/S3RVER). s3rver checks
// that the access key exists but not SigV4 signatures, so every request reaches it through a
// gateway (node:http, a port of its own) that verifies each signature independently
// (test/support/sigv4-verifier.ts), counts requests and bytes, and can answer 503 (or 429) to
// prove what is retried and what is not, and how far a streamed upload reads ahead.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load';
import type { WorkerEnv } from '../../src/env';
import { type ObjectStore, ObjectStoreError } from '../../src/platform/object-store/object-store';
import { createS3ObjectStore, type S3StoreOptions } from '../../src/platform/object-store/s3';
import { objectStoreFor } from '../../src/platform/object-store/select';
import { freePort } from '../setup/free-port';
import { enableSingleDes, restoreDes } from '../support/s3rver-des';
import { verifySigV4 } from '../support/sigv4-verifier';

const bucket = 'phobos-objects';
const mebibyte = 1024 * 1024;
let directory: string;
let s3rver: S3rver;
let s3Url: string;

interface Seen {
  method: string;
  url: string;
  status: number;
  bodyBytes: number;
}

const secrets = { S3RVER: 'S3RVER' };

/**
 * Verifies each request's signature and forwards it to s3rver; answers `failStatus` to the first
 * `failNext` requests instead (all when `failNext` is Infinity).
 */
class Gateway {
  seen: Seen[] = [];
  failNext = 0;
  failStatus = 503;
  /** Bytes of request bodies s3rver has fully received and answered. */
  deliveredBytes = 0;
  server: Server = createServer((incoming, outgoing) => this.handle(incoming, outgoing));
  url = '';

  async start(): Promise<void> {
    const port = await freePort();
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${port}`;
  }

  reset(): void {
    this.seen = [];
    this.failNext = 0;
    this.failStatus = 503;
    this.deliveredBytes = 0;
  }

  private handle(incoming: IncomingMessage, outgoing: import('node:http').ServerResponse): void {
    const entry: Seen = { method: incoming.method ?? '', url: incoming.url ?? '', status: 0, bodyBytes: 0 };
    this.seen.push(entry);
    if (this.failNext > 0) {
      this.failNext -= 1;
      entry.status = this.failStatus;
      incoming.resume();
      incoming.on('end', () => outgoing.writeHead(this.failStatus, { 'content-type': 'application/xml' }).end('<Error><Code>SlowDown</Code></Error>'));
      return;
    }
    const verdict = verifySigV4(incoming.method ?? '', incoming.url ?? '/', incoming.headers, secrets);
    if (verdict.ok === false || verdict.ok === 'unsigned') {
      const [code, message] = verdict.ok === false ? [verdict.code, verdict.message] : ['AccessDenied', 'Access Denied'];
      entry.status = 403;
      incoming.resume();
      incoming.on('end', () =>
        outgoing.writeHead(403, { 'content-type': 'application/xml' }).end(`<Error><Code>${code}</Code><Message>${message}</Message></Error>`),
      );
      return;
    }
    // An unknown access key is s3rver's to refuse (InvalidAccessKeyId).
    const target = new URL(incoming.url ?? '/', s3Url);
    const forwarded = httpRequest(target, { method: incoming.method, headers: incoming.headers }, (answer) => {
      entry.status = answer.statusCode ?? 0;
      if (entry.status < 300) this.deliveredBytes += entry.bodyBytes;
      outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(outgoing);
    });
    incoming.on('data', (chunk: Buffer) => {
      entry.bodyBytes += chunk.length;
    });
    incoming.pipe(forwarded);
  }
}

const proxy = new Gateway();

const options = (overrides: Partial<S3StoreOptions> = {}): S3StoreOptions => ({
  bucket,
  endpoint: proxy.url,
  accessKeyId: 'S3RVER',
  secretAccessKey: 'S3RVER',
  // Short delays: the policy's shape is what is tested, not its production timings.
  retry: { retries: 3, initialDelayMs: 5, maxDelayMs: 20 },
  ...overrides,
});

let store: ObjectStore;

beforeAll(async () => {
  enableSingleDes();
  directory = await mkdtemp(join(tmpdir(), 'phobos-s3rver-'));
  const port = await freePort();
  s3rver = new S3rver({ address: '127.0.0.1', port, directory, silent: true, configureBuckets: [{ name: bucket }] });
  await s3rver.run();
  s3Url = `http://127.0.0.1:${port}`;
  await proxy.start();
  store = createS3ObjectStore(options());
});

afterAll(async () => {
  await new Promise((resolve) => proxy.server.close(resolve));
  await s3rver?.close();
  if (directory) await rm(directory, { recursive: true, force: true });
  restoreDes();
});

beforeEach(() => proxy.reset());

const text = async (stream: ReadableStream<Uint8Array>) => new Response(stream).text();
const sha256Hex = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

async function failure(promise: Promise<unknown>): Promise<ObjectStoreError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ObjectStoreError);
  return error as ObjectStoreError;
}

/** Deterministic bytes: the value at position i. */
const byteAt = (i: number) => (i * 31 + (i >>> 11)) & 0xff;

/**
 * A stream of `size` generated bytes, made only when pulled (highWaterMark 0: nothing is read
 * ahead), so `pulled` says how much of the source the store has asked for.
 */
function generated(size: number, chunkSize = 64 * 1024, failAfter?: number) {
  const state = { pulled: 0, maxLead: 0, hash: createHash('sha256') };
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (failAfter !== undefined && state.pulled >= failAfter) {
          controller.error(new Error('source broke'));
          return;
        }
        const length = Math.min(chunkSize, size - state.pulled);
        if (length <= 0) {
          controller.close();
          return;
        }
        const chunk = new Uint8Array(length);
        for (let j = 0; j < length; j++) chunk[j] = byteAt(state.pulled + j);
        state.hash.update(chunk);
        state.pulled += length;
        state.maxLead = Math.max(state.maxLead, state.pulled - proxy.deliveredBytes);
        controller.enqueue(chunk);
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, state };
}

describe('the aws_s3 object store (s3rver)', () => {
  it('puts, gets, heads and deletes an object, keys with spaces and non-ASCII included', async () => {
    const key = 'templates/a b+c(1)/ü-template.hcl';
    const body = 'stage "build" {}\n';
    const put = await store.put(key, body, { contentType: 'text/plain', sha256: sha256Hex(body) });
    expect(put).toMatchObject({ key, size: body.length, contentType: 'text/plain' });
    expect(put.etag).toMatch(/^[0-9a-f]{32}$/);

    const got = await store.get(key);
    expect(got).toMatchObject({ key, size: body.length, etag: put.etag, contentType: 'text/plain', range: { offset: 0, length: body.length } });
    expect(await text(got!.body)).toBe(body);

    const head = await store.head(key);
    expect(head).toMatchObject({ key, size: body.length, etag: put.etag, contentType: 'text/plain' });
    expect(head!.uploaded.getTime()).toBeGreaterThan(Date.now() - 60_000);

    await store.delete(key);
    expect(await store.get(key)).toBeNull();
    expect(await store.head(key)).toBeNull();
    // Deleting what is not there succeeds.
    await store.delete(key);
  });

  it('takes ArrayBuffer and Uint8Array bodies', async () => {
    await store.put('bodies/buffer', new TextEncoder().encode('buffer').buffer);
    await store.put('bodies/view', new Uint8Array([1, 2, 3]));
    expect(await text((await store.get('bodies/buffer'))!.body)).toBe('buffer');
    expect([...new Uint8Array(await new Response((await store.get('bodies/view'))!.body).arrayBuffer())]).toEqual([1, 2, 3]);
  });

  it('refuses a body whose SHA-256 is not the one given, writing nothing', async () => {
    const error = await failure(store.put('checksums/wrong', 'body', { sha256: sha256Hex('other') }));
    expect(error.code).toBe('checksum_mismatch');
    expect(await store.head('checksums/wrong')).toBeNull();
    expect((await failure(store.put('checksums/malformed', 'body', { sha256: 'xyz' }))).code).toBe('invalid_argument');
  });

  it('serves ranges and refuses unsatisfiable ones', async () => {
    await store.put('ranges/digits', '0123456789');
    const middle = await store.get('ranges/digits', { range: { offset: 2, length: 3 } });
    expect(middle).toMatchObject({ size: 10, range: { offset: 2, length: 3 } });
    expect(await text(middle!.body)).toBe('234');
    const tail = await store.get('ranges/digits', { range: { offset: 7 } });
    expect(tail!.range).toEqual({ offset: 7, length: 3 });
    expect(await text(tail!.body)).toBe('789');
    expect((await failure(store.get('ranges/digits', { range: { offset: 10 } }))).code).toBe('invalid_range');
    expect((await failure(store.get('ranges/digits', { range: { offset: -1 } }))).code).toBe('invalid_range');
    expect((await failure(store.get('ranges/digits', { range: { offset: 0, length: 0 } }))).code).toBe('invalid_range');
    expect(await store.get('ranges/missing', { range: { offset: 0, length: 1 } })).toBeNull();
  });

  it('lists a prefix page by page', async () => {
    const keys = ['list/a/1', 'list/a/2', 'list/a/3', 'list/a/4', 'list/a/5'];
    for (const key of keys) await store.put(key, key);
    await store.put('list/b/1', 'other prefix');

    const listed: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await store.list({ prefix: 'list/a/', limit: 2, cursor });
      expect(page.objects.length).toBeLessThanOrEqual(2);
      for (const object of page.objects) {
        expect(object.size).toBe(object.key.length);
        expect(object.etag).toMatch(/^[0-9a-f]{32}$/);
        expect(object.uploaded).toBeInstanceOf(Date);
      }
      listed.push(...page.objects.map((object) => object.key));
      cursor = page.cursor;
      pages += 1;
    } while (cursor);
    expect(listed).toEqual(keys);
    expect(pages).toBe(3);
    expect(await store.list({ prefix: 'list/none/' })).toEqual({ objects: [] });
    expect((await failure(store.list({ prefix: 'list/', limit: 0 }))).code).toBe('invalid_argument');
  });

  it('streams 12 MiB in 5 MiB parts, never reading more than one part ahead of what the server has', async () => {
    const size = 12 * mebibyte;
    const partSize = 5 * mebibyte;
    const expectedHash = createHash('sha256');
    for (let at = 0; at < size; at += mebibyte) expectedHash.update(Uint8Array.from({ length: mebibyte }, (_, j) => byteAt(at + j)));
    const expectedSha = expectedHash.digest('hex');
    const { stream, state } = generated(size);
    const result = await store.putMultipart('multipart/twelve', stream, { partSize, contentType: 'application/octet-stream', sha256: expectedSha });

    expect(result).toMatchObject({ key: 'multipart/twelve', size });
    expect(state.pulled).toBe(size);
    // What was read from the source but not yet stored: at most one part and the chunk that
    // overflowed it. (This process also runs the gateway and s3rver, whose socket and file
    // buffers would blur a reading of process memory; the lead is exact.)
    expect(state.maxLead).toBeLessThanOrEqual(partSize + 64 * 1024);

    const requests = proxy.seen.map(
      (seen) =>
        `${seen.method} ${new URL(seen.url, 'http://x').searchParams.has('uploads') ? 'initiate' : seen.url.includes('partNumber=') ? `part ${seen.bodyBytes}` : seen.url.includes('uploadId=') ? 'complete' : seen.url}`,
    );
    expect(requests).toEqual(['POST initiate', `PUT part ${partSize}`, `PUT part ${partSize}`, `PUT part ${2 * mebibyte}`, 'POST complete']);

    const stored = await store.get('multipart/twelve');
    expect(stored!.size).toBe(size);
    const storedHash = createHash('sha256');
    const reader = stored!.body.getReader();
    for (let read = await reader.read(); !read.done; read = await reader.read()) storedHash.update(read.value);
    expect(storedHash.digest('hex')).toBe(expectedSha);
    expect(state.hash.digest('hex')).toBe(expectedSha);

    const range = await store.get('multipart/twelve', { range: { offset: partSize - 2, length: 4 } });
    expect([...new Uint8Array(await new Response(range!.body).arrayBuffer())]).toEqual([0, 1, 2, 3].map((j) => byteAt(partSize - 2 + j)));
  });

  it('writes a stream shorter than one part with one plain put', async () => {
    const { stream } = generated(1000);
    const result = await store.put('multipart/small', stream);
    expect(result.size).toBe(1000);
    expect(proxy.seen.map((seen) => seen.method)).toEqual(['PUT']);
    expect((await store.head('multipart/small'))!.size).toBe(1000);
  });

  it('aborts the upload when the source stream fails, and writes nothing', async () => {
    const { stream } = generated(12 * mebibyte, 64 * 1024, 6 * mebibyte);
    await expect(store.putMultipart('multipart/broken', stream, { partSize: 5 * mebibyte })).rejects.toThrow('source broke');
    const last = proxy.seen.at(-1)!;
    expect(last.method).toBe('DELETE');
    expect(last.url).toContain('uploadId=');
    expect(await store.head('multipart/broken')).toBeNull();
  });

  it('aborts a streamed upload whose SHA-256 is not the one given', async () => {
    const { stream } = generated(6 * mebibyte);
    const error = await failure(store.putMultipart('multipart/wrong-sum', stream, { partSize: 5 * mebibyte, sha256: sha256Hex('other') }));
    expect(error.code).toBe('checksum_mismatch');
    expect(proxy.seen.at(-1)).toMatchObject({ method: 'DELETE' });
    expect(await store.head('multipart/wrong-sum')).toBeNull();
  });

  it('refuses part sizes under 5 MiB', async () => {
    const { stream } = generated(10);
    expect((await failure(store.putMultipart('multipart/tiny-parts', stream, { partSize: 1024 }))).code).toBe('invalid_argument');
  });

  it('presigns a GET that plain fetch can use, and only for that object', async () => {
    await store.put('presigned/file.txt', 'signed content', { contentType: 'text/plain' });
    const url = await store.presignGet('presigned/file.txt', 60);
    expect(new URL(url).searchParams.get('X-Amz-Expires')).toBe('60');
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('signed content');

    const tampered = url.replace('presigned/file.txt', 'presigned/other.txt');
    expect((await fetch(tampered)).status).toBe(403);
    expect((await failure(store.presignGet('presigned/file.txt', 0))).code).toBe('invalid_argument');
  });

  it('presigns multipart part uploads that plain fetch can use, then completes them into one object', async () => {
    const key = 'presigned/multipart.bin';
    const first = Buffer.alloc(5 * mebibyte, 7);
    const second = Buffer.from('the last part');
    const uploadId = await store.createMultipartUpload(key, { contentType: 'application/octet-stream' });
    const parts = [];
    for (const [index, bytes] of [first, second].entries()) {
      const url = await store.presignUploadPart(key, uploadId, { partNumber: index + 1, sizeBytes: bytes.length }, 60);
      expect(new URL(url).searchParams.get('partNumber')).toBe(String(index + 1));
      // No credentials: the query signature is the authorization, checked by the gateway.
      const response = await fetch(url, { method: 'PUT', body: new Uint8Array(bytes) });
      expect(response.status).toBe(200);
      parts.push({ partNumber: index + 1, etag: response.headers.get('etag')! });
    }
    // A URL signed for part 1 does not upload part 2.
    const forgedUrl = new URL(await store.presignUploadPart(key, uploadId, { partNumber: 1, sizeBytes: 1 }, 60));
    forgedUrl.searchParams.set('partNumber', '2');
    expect((await fetch(forgedUrl, { method: 'PUT', body: 'x' })).status).toBe(403);

    const completed = await store.completeMultipartUpload(key, uploadId, parts);
    expect(completed.size).toBe(first.length + second.length);
    const stored = await store.get(key);
    const hash = createHash('sha256');
    hash.update(new Uint8Array(await new Response(stored!.body).arrayBuffer()));
    expect(hash.digest('hex')).toBe(
      createHash('sha256')
        .update(Buffer.concat([first, second]))
        .digest('hex'),
    );

    const abandoned = await store.createMultipartUpload('presigned/abandoned.bin');
    await store.abortMultipartUpload('presigned/abandoned.bin', abandoned);
    expect(await store.head('presigned/abandoned.bin')).toBeNull();
  });

  it('reports refused credentials as access_denied without showing the secret', async () => {
    const secret = 'not-the-secret-xyz';
    const wrongSecret = createS3ObjectStore(options({ secretAccessKey: secret }));
    const error = await failure(wrongSecret.put('denied/object', 'x'));
    expect(error.code).toBe('access_denied');
    expect(error.message).toContain('SignatureDoesNotMatch');
    expect(error.message).toContain('PHOBOS_OBJECT_STORE_PLUGIN_DATA_AWS_SECRET_ACCESS_KEY');
    expect(error.message).not.toContain(secret);

    const unknownKey = createS3ObjectStore(options({ accessKeyId: 'NOBODY', secretAccessKey: secret }));
    const unknown = await failure(unknownKey.get('denied/object'));
    expect(unknown.code).toBe('access_denied');
    expect(unknown.message).toContain('InvalidAccessKeyId');
    expect(unknown.message).not.toContain(secret);
    expect((await failure(unknownKey.head('denied/object'))).code).toBe('access_denied');
  });

  it('reports a missing bucket as bucket_not_found', async () => {
    const missing = createS3ObjectStore(options({ bucket: 'no-such-bucket' }));
    for (const attempt of [() => missing.put('k', 'x'), () => missing.get('k'), () => missing.list({ prefix: '' }), () => missing.delete('k')]) {
      const error = await failure(attempt());
      expect(error.code).toBe('bucket_not_found');
      expect(error.message).toContain('"no-such-bucket"');
      expect(error.message).toContain('PHOBOS_OBJECT_STORE_PLUGIN_DATA_BUCKET');
    }
  });

  it('retries 503 and 429 answers, then succeeds', async () => {
    proxy.failNext = 2;
    await store.put('retry/put', 'after two 503s');
    const puts = proxy.seen.filter((seen) => seen.method === 'PUT');
    expect(puts.map((seen) => seen.status)).toEqual([503, 503, 200]);
    expect(await text((await store.get('retry/put'))!.body)).toBe('after two 503s');

    proxy.reset();
    proxy.failNext = 1;
    proxy.failStatus = 429;
    expect(await text((await store.get('retry/put'))!.body)).toBe('after two 503s');
    expect(proxy.seen.map((seen) => seen.status)).toEqual([429, 200]);
  });

  it('gives up as unavailable after the bounded retries', async () => {
    proxy.failNext = Number.POSITIVE_INFINITY;
    const started = Date.now();
    const error = await failure(store.put('retry/never', 'x'));
    expect(error.code).toBe('unavailable');
    expect(error.message).toContain('after 4 attempts (last status 503)');
    expect(proxy.seen).toHaveLength(4);
    // Delays of at most 5, 10 and 20 ms.
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('does not retry a 4xx answer', async () => {
    const denied = createS3ObjectStore(options({ secretAccessKey: 'wrong' }));
    expect((await failure(denied.get('retry/put'))).code).toBe('access_denied');
    expect(proxy.seen).toHaveLength(1);
  });

  it('reports an endpoint nobody answers on as unavailable', async () => {
    const nobody = createS3ObjectStore(options({ endpoint: `http://127.0.0.1:${await freePort()}` }));
    const error = await failure(nobody.head('k'));
    expect(error.code).toBe('unavailable');
    expect(error.message).toContain('no answer');
  });

  it('is chosen by PHOBOS_OBJECT_STORE_PLUGIN_TYPE=aws_s3 with a path-style custom endpoint', async () => {
    const config = loadConfig({
      PHOBOS_OBJECT_STORE_PLUGIN_TYPE: 'aws_s3',
      PHOBOS_OBJECT_STORE_PLUGIN_DATA_BUCKET: bucket,
      PHOBOS_OBJECT_STORE_PLUGIN_DATA_REGION: 'us-east-1',
      PHOBOS_OBJECT_STORE_PLUGIN_DATA_AWS_ACCESS_KEY_ID: 'S3RVER',
      PHOBOS_OBJECT_STORE_PLUGIN_DATA_AWS_SECRET_ACCESS_KEY: 'S3RVER',
      PHOBOS_OBJECT_STORE_PLUGIN_DATA_ENDPOINT: proxy.url,
    });
    const selected = objectStoreFor({} as WorkerEnv, config);
    expect(objectStoreFor({} as WorkerEnv, config)).toBe(selected);
    await selected.put('selected/object', 'via config');
    expect(await text((await store.get('selected/object'))!.body)).toBe('via config');
    expect(new URL(await selected.presignGet('selected/object', 60)).pathname).toBe(`/${bucket}/selected/object`);

    const withoutKeys = loadConfig({ PHOBOS_OBJECT_STORE_PLUGIN_TYPE: 'aws_s3', PHOBOS_OBJECT_STORE_PLUGIN_DATA_BUCKET: bucket });
    expect(() => objectStoreFor({} as WorkerEnv, withoutKeys)).toThrow(/PHOBOS_OBJECT_STORE_PLUGIN_DATA_AWS_ACCESS_KEY_ID/);
  });

  it('uses virtual-hosted URLs on AWS itself', async () => {
    const aws = createS3ObjectStore({ bucket: 'releases', region: 'eu-west-1', accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' });
    const url = new URL(await aws.presignGet('a/b c.txt', 300));
    expect(url.host).toBe('releases.s3.eu-west-1.amazonaws.com');
    expect(url.pathname).toBe('/a/b%20c.txt');
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(/^AKIDEXAMPLE\/\d{8}\/eu-west-1\/s3\/aws4_request$/);
  });
});
