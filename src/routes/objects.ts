// GET /objects/download: serves an object to whoever holds a download URL the Worker signed
// (presignGet of the r2 store; src/platform/object-store/signed-download.ts). The signature is the
// authorization: it names one key until one time, so no credentials are asked and anyone with a
// valid URL (a browser, an agent, curl) may download; a bad or expired signature is 403 for
// everyone, signed-in or not. Objects are user content served from the API's origin, so they are
// always attachments in a sandbox, never rendered as pages of the API.
import { Hono } from 'hono';
import { AppError } from '../errors';
import type { AppEnv } from '../http/app-env';
import { parseRangeHeader } from '../http/range-header';
import { type ByteRange, type ObjectContent, ObjectStoreError } from '../platform/object-store/object-store';
import { objectStoreFor } from '../platform/object-store/select';
import { downloadPath, verifyDownload } from '../platform/object-store/signed-download';

export const objectRoutes = new Hono<AppEnv>();

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

objectRoutes.get(downloadPath, async (c) => {
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
