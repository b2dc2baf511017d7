// GET /objects/download: serves an object to whoever holds a download URL the Worker signed
// (presignGet of the r2 store; src/platform/object-store/signed-download.ts). The signature is the
// authorization: it names one key until one time, so no credentials are asked and anyone with a
// valid URL (a browser, an agent, curl) may download; a bad or expired signature is 403 for
// everyone, signed-in or not. Objects are user content served from the API's origin, so they are
// always attachments in a sandbox, never rendered as pages of the API.
import { createRoute, z } from '@hono/zod-openapi';
import { AppError } from '../errors';
import { parseRangeHeader } from '../http/range-header';
import { type ByteRange, type ObjectContent, ObjectStoreError } from '../platform/object-store/object-store';
import { objectStoreFor } from '../platform/object-store/select';
import { downloadPath, uploadPartPath, verifyDownload, verifyUploadPart } from '../platform/object-store/signed-download';
import { problemResponses, restRouter } from '../rest/router';

export const objectRoutes = restRouter();

function unavailable(error: unknown): never {
  if (error instanceof ObjectStoreError && error.code === 'unavailable') {
    throw new AppError('SERVICE_UNAVAILABLE', 'The object store is unavailable; try again later', { cause: error });
  }
  throw error;
}

/** `attachment` with the key's last segment as the file name (RFC 6266 / RFC 8187 encoding). */
function contentDisposition(key: string): string {
  const name = key.split('/').pop() || 'download';
  return `attachment; filename*=UTF-8''${encodeURIComponent(name)}`;
}

const binary = { schema: { type: 'string', format: 'binary' } } as const;

const download = createRoute({
  method: 'get',
  path: downloadPath,
  tags: ['Objects'],
  summary: 'Download an object through a signed URL',
  description:
    'The Worker signs these URLs (release assets, plugin binaries; job logs are read through the API, never from here); the signature is the authorization, so no credentials are asked. A missing, forged or expired signature is 403 for everyone. Objects are always attachments in a sandbox.',
  security: [],
  request: {
    // Optional to the validator on purpose: a link missing a part is a bad signature (403), never a 400.
    query: z.object({
      key: z.string().optional().openapi({ description: 'The object key (part of the signed URL).' }),
      expires: z.string().optional().openapi({ description: 'Unix time the URL expires at (part of the signed URL).' }),
      signature: z.string().optional().openapi({ description: 'The signature (part of the signed URL).' }),
    }),
    headers: z.object({ range: z.string().optional().openapi({ description: '`bytes=<from>-` or `bytes=-<suffix length>`.' }) }),
  },
  responses: {
    200: { description: 'The object.', content: { 'application/octet-stream': binary } },
    206: { description: 'The requested range of the object (`Content-Range`).', content: { 'application/octet-stream': binary } },
    403: problemResponses(403)[403],
    404: problemResponses(404)[404],
    416: { description: 'The range lies beyond the object; `Content-Range: bytes */<size>`.' },
    503: { description: 'The object store is unavailable.', content: problemResponses(503)[503].content },
  },
});

objectRoutes.openapi(download, async (c) => {
  const config = c.get('config');
  const secret = config.jwsProvider.keyEncryptionKey;
  const verdict = secret ? await verifyDownload(secret, c.req.query()) : 'invalid';
  if (verdict === 'expired') throw new AppError('FORBIDDEN', 'This download link has expired; ask for a new one');
  if (verdict !== 'valid') throw new AppError('FORBIDDEN', 'This download link is not valid');
  const key = c.req.query('key')!;
  const store = objectStoreFor(c.env, config);

  const asked = parseRangeHeader(c.req.header('range'));
  let range: ByteRange | undefined;
  if (asked?.kind === 'from') range = asked;
  else if (asked?.kind === 'suffix') {
    // The last N bytes: the object's size decides where they start.
    const head = await store.head(key).catch(unavailable);
    if (!head) throw new AppError('NOT_FOUND', 'No such object');
    if (asked.length === 0 || head.size === 0) return c.body(null, 416, { 'content-range': `bytes */${head.size}` });
    range = { offset: Math.max(0, head.size - asked.length) };
  }

  let object: ObjectContent | null;
  try {
    object = await store.get(key, { range });
  } catch (error) {
    if (error instanceof ObjectStoreError && error.code === 'invalid_range') {
      const head = await store.head(key).catch(unavailable);
      if (!head) throw new AppError('NOT_FOUND', 'No such object');
      return c.body(null, 416, { 'content-range': `bytes */${head.size}` });
    }
    unavailable(error);
  }
  if (!object) throw new AppError('NOT_FOUND', 'No such object');

  const headers: Record<string, string> = {
    'content-type': object.contentType ?? 'application/octet-stream',
    'content-length': String(object.range.length),
    etag: `"${object.etag}"`,
    'last-modified': object.uploaded.toUTCString(),
    'accept-ranges': 'bytes',
    'content-disposition': contentDisposition(key),
    'content-security-policy': "default-src 'none'; sandbox",
    'cache-control': 'private, no-store',
  };
  if (!range) return c.body(object.body, 200, headers);
  const last = object.range.offset + object.range.length - 1;
  return c.body(object.body, 206, { ...headers, 'content-range': `bytes ${object.range.offset}-${last}/${object.size}` });
});

const uploadPart = createRoute({
  method: 'put',
  path: uploadPartPath,
  tags: ['Objects'],
  summary: 'Upload one part of a presigned multipart upload',
  description:
    "The Worker signs these URLs for one part of one upload (a plugin binary) and its exact size; the signature is the authorization, so no credentials are asked. The body must be exactly the signed size (Content-Length). The answer carries the part's ETag, which completing the upload needs.",
  security: [],
  request: {
    query: z.object({
      key: z.string().optional(),
      uploadId: z.string().optional(),
      partNumber: z.string().optional(),
      size: z.string().optional(),
      expires: z.string().optional(),
      signature: z.string().optional(),
    }),
    body: { content: { 'application/octet-stream': binary }, required: true },
  },
  responses: {
    200: {
      description: 'The part is stored; `ETag` names it.',
      content: { 'application/json': { schema: z.object({ partNumber: z.number().int(), etag: z.string() }) } },
    },
    400: problemResponses(400)[400],
    403: problemResponses(403)[403],
    503: { description: 'The object store is unavailable.', content: problemResponses(503)[503].content },
  },
});

objectRoutes.openapi(uploadPart, async (c) => {
  const config = c.get('config');
  const secret = config.jwsProvider.keyEncryptionKey;
  const { verdict, part } = secret ? await verifyUploadPart(secret, c.req.query()) : { verdict: 'invalid' as const, part: undefined };
  if (verdict === 'expired') throw new AppError('FORBIDDEN', 'This upload link has expired; ask for a new one');
  if (verdict !== 'valid' || !part) throw new AppError('FORBIDDEN', 'This upload link is not valid');
  const length = c.req.header('content-length');
  if (length === undefined || !/^[0-9]{1,12}$/.test(length)) {
    throw new AppError('BAD_USER_INPUT', `Content-Length: required, and must be the part's size, ${part.sizeBytes} bytes`, { field: 'Content-Length' });
  }
  if (Number(length) !== part.sizeBytes) {
    throw new AppError('BAD_USER_INPUT', `Content-Length: this part must be exactly ${part.sizeBytes} bytes, not ${length}`, { field: 'Content-Length' });
  }
  const body = c.req.raw.body;
  if (!body) throw new AppError('BAD_USER_INPUT', 'body: the part is missing', { field: 'body' });
  let etag: string;
  try {
    etag = await objectStoreFor(c.env, config).uploadPart(part.key, part.uploadId, part.partNumber, body);
  } catch (error) {
    if (error instanceof ObjectStoreError && error.code !== 'unavailable') {
      throw new AppError('BAD_USER_INPUT', `The part was refused: the upload may be completed or aborted already (${error.code})`, { field: 'uploadId' });
    }
    unavailable(error);
  }
  return c.json({ partNumber: part.partNumber, etag }, 200, { etag: `"${etag}"` });
});
