// Request body size limits per route family, checked before a body is read (Content-Length) and
// while it streams. Sign-in and token requests are small forms; GraphQL carries documents and
// variables, up to twice the largest pipeline template (PHOBOS_TEMPLATE_MAX_UPLOAD_SIZE) or 1 MiB.
// Release assets are streamed past it (their service limits them while they stream).
import type { MiddlewareHandler } from 'hono';
import { bodyLimit as honoBodyLimit } from 'hono/body-limit';
import { AppError } from '../errors';
import { agentApiPrefix, maxJobOutputsBytes } from '../protocol/agent-v1';
import { uploadPartPath } from '../platform/object-store/signed-download';
import type { AppEnv } from './app-env';

const authBodyLimitBytes = 64 * 1024;
const defaultBodyLimitBytes = 1024 * 1024;

/**
 * A job's end (`POST /agent/v1/jobs/:id/finish`) carries its outputs, up to `maxJobOutputsBytes` of
 * JSON, with the status and a reason of up to 4096 characters around them: room for those too, so
 * outputs the socket takes are not refused here as too large.
 */
const finishBodyLimitBytes = maxJobOutputsBytes + 64 * 1024;
const finishPath = new RegExp(`^${agentApiPrefix}/jobs/[^/]+/finish$`);

function bodyLimitFor(path: string, templateMaxUploadSize: number): number {
  if (path.startsWith('/oauth/') || path.startsWith('/auth/')) return authBodyLimitBytes;
  if (finishPath.test(path)) return finishBodyLimitBytes;
  if (path === '/graphql') return Math.max(defaultBodyLimitBytes, templateMaxUploadSize * 2);
  return defaultBodyLimitBytes;
}

/**
 * Uploads streamed to the object store, which enforce their own (much larger) limit while the body
 * streams and never hold it whole: `PUT /api/v1/releases/:releaseId/assets/:name`, and
 * `PUT /objects/upload-part` (one part of a presigned multipart upload, exactly the size its
 * signature names, at most 64 MiB).
 */
const streamedUpload = /^\/api\/v1\/releases\/[^/]+\/assets\/[^/]+$/;

export function bodyLimit(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const path = new URL(c.req.url).pathname;
    if (c.req.method === 'PUT' && (streamedUpload.test(path) || path === uploadPartPath)) return next();
    const maxSize = bodyLimitFor(path, c.get('config').server.templateMaxUploadSize);
    return honoBodyLimit({
      maxSize,
      onError: () => {
        throw new AppError('PAYLOAD_TOO_LARGE', `Request body exceeds the ${maxSize}-byte limit of this route`, { details: { limit: maxSize } });
      },
    })(c, next);
  };
}
