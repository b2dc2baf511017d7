// PUT /api/v1/releases/:releaseId/assets/:name: uploads a release asset, the request body streamed
// to the object store (Content-Type kept; Content-Length, when sent, refused at once over the limit).
// Authenticated like every route; the service authorizes (release:manage) and limits the size.
// The general body limit does not apply to this route alone (src/http/body-limit.ts).
import { Hono } from 'hono';
import { requireAuthenticated } from '../auth/rbac';
import { maxAssetBytes, uploadReleaseAsset } from '../domain/releases/assets';
import { AppError, badInput } from '../errors';
import type { AppEnv } from '../http/app-env';
import { objectStoreFor } from '../platform/object-store/select';

export const releaseAssetRoutes = new Hono<AppEnv>();

releaseAssetRoutes.put('/api/v1/releases/:releaseId/assets/:name', async (c) => {
  requireAuthenticated(c.get('principal'));
  const length = c.req.header('content-length');
  let declaredSize: number | undefined;
  if (length !== undefined) {
    if (!/^\d{1,16}$/.test(length)) throw badInput('Content-Length', 'must be a number of bytes');
    declaredSize = Number(length);
  }
  if (declaredSize !== undefined && declaredSize > maxAssetBytes) {
    throw new AppError('PAYLOAD_TOO_LARGE', `A release asset may be at most ${maxAssetBytes} bytes`, { field: 'body', details: { limit: maxAssetBytes } });
  }
  const body = c.req.raw.body;
  if (!body) throw badInput('body', 'the asset is the request body; it is empty');
  const asset = await uploadReleaseAsset(c.get('database')().http, objectStoreFor(c.env, c.get('config')), await c.get('caller')(), {
    releaseId: c.req.param('releaseId'),
    name: c.req.param('name'),
    contentType: c.req.header('content-type'),
    declaredSize,
    body,
  });
  return c.json(
    { asset: { id: asset.id, name: asset.name, sizeBytes: asset.sizeBytes, sha256: asset.sha256, contentType: asset.contentType, createdAt: asset.createdAt } },
    201,
  );
});
