// PUT /api/v1/releases/:releaseId/assets/:name: uploads a release asset, the request body streamed
// to the object store (Content-Type kept; Content-Length, when sent, refused at once over the limit).
// Authenticated like every route; the service authorizes (release:manage) and limits the size.
// The general body limit does not apply to this route alone (src/http/body-limit.ts).
import { createRoute, z } from '@hono/zod-openapi';
import { maxAssetBytes, uploadReleaseAsset } from '../domain/releases/assets';
import { AppError, badInput } from '../errors';
import { objectStoreFor } from '../platform/object-store/select';
import { problemResponses, requireCredentials, restRouter } from '../rest/router';

export const releaseAssetRoutes = restRouter();

const assetSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    sizeBytes: z.number().int(),
    sha256: z.string().openapi({ description: 'Hex SHA-256 of the content, computed while it streamed.' }),
    contentType: z.string().nullable(),
    createdAt: z.iso.datetime({ offset: true }),
  })
  .openapi('ReleaseAsset');

const upload = createRoute({
  method: 'put',
  path: '/api/v1/releases/{releaseId}/assets/{name}',
  tags: ['Releases'],
  summary: 'Upload a release asset',
  description: `The request body is the asset, streamed to the object store (\`release:manage\` in the release's project). At most ${maxAssetBytes} bytes; a \`Content-Length\` over the limit is refused at once.`,
  // The parameters are validated by the service (it names them); the body is never read here, so
  // the route declares no JSON or form body for the validator to consume.
  middleware: [requireCredentials] as const,
  request: {
    params: z.object({
      releaseId: z.string().openapi({ description: 'The release id.' }),
      name: z.string().openapi({ description: "The asset's file name." }),
    }),
    body: { required: true, content: { '*/*': { schema: { type: 'string', format: 'binary' } } } },
  },
  responses: {
    201: { description: 'The stored asset.', content: { 'application/json': { schema: z.object({ asset: assetSchema }) } } },
    ...problemResponses(400, 401, 403, 404, 409, 413),
  },
});

releaseAssetRoutes.openapi(upload, async (c) => {
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
    {
      asset: {
        id: asset.id,
        name: asset.name,
        sizeBytes: asset.sizeBytes,
        sha256: asset.sha256,
        contentType: asset.contentType,
        createdAt: asset.createdAt.toISOString(),
      },
    },
    201,
  );
});
