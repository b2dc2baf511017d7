// Assets of a release: files streamed into the object store (never held whole in memory), at most
// maxAssetBytes each (1 GiB, like PHOBOS_PLUGIN_BINARY_MAX_UPLOAD_SIZE's default: Phobos has no
// variable for release assets), with their SHA-256 computed on the way. The body goes to the store
// FIRST, under an unguessable key; the row is inserted only after the whole body is stored, and a
// row that cannot be inserted takes its object with it. Over the limit, the upload is aborted
// (PAYLOAD_TOO_LARGE, 413): no object, no row. Uploading and deleting need release:manage;
// downloading goes through a short-lived presigned URL given to whoever may see the release.
import { sha256 } from '@noble/hashes/sha2.js';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { Caller } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { rethrowConflict } from '../../db/postgres-errors';
import { releaseAssets, type ReleaseAssetRow } from '../../db/schema';
import { AppError, badInput, notFound } from '../../errors';
import { hexEncode } from '../../platform/encoding';
import type { ObjectStore } from '../../platform/object-store/object-store';
import { recordActivity } from '../activity/record';
import { loadRelease, releaseTarget } from './service';

/** The largest asset: 1 GiB. */
export const maxAssetBytes = 1024 * 1024 * 1024;
/** How long a download URL works: long enough to start a download, short enough not to be shared around. */
const assetDownloadSeconds = 15 * 60;

/** The store operations assets use. */
export type AssetStore = Pick<ObjectStore, 'putMultipart' | 'delete' | 'presignGet'>;

export type ReleaseAssetView = ReleaseAssetRow;

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;
const contentTypePattern = /^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+(?:\s*;[\x20-\x7e]*)?$/;

function validateAssetName(value: string): string {
  if (!namePattern.test(value)) throw badInput('name', 'must be 1-255 letters, digits, dots, underscores or hyphens, starting with a letter or digit');
  return value;
}

function validateContentType(value: string | undefined): string {
  if (value === undefined || value === '') return 'application/octet-stream';
  if (value.length > 255 || !contentTypePattern.test(value)) throw badInput('contentType', 'must be a media type such as application/zip');
  return value;
}

const tooLarge = (limit: number) => new AppError('PAYLOAD_TOO_LARGE', `A release asset may be at most ${limit} bytes`, { field: 'body', details: { limit } });

export interface UploadReleaseAssetInput {
  releaseId: string;
  name: string;
  contentType?: string;
  /** The declared length (Content-Length), when known: refused at once when over the limit. */
  declaredSize?: number;
  body: ReadableStream<Uint8Array>;
  /** The limit in bytes; maxAssetBytes unless a test lowers it. */
  maxBytes?: number;
}

/** Streams the body into the store with its size and SHA-256, then records the asset. */
export async function uploadReleaseAsset(db: HttpDatabase, store: AssetStore, caller: Caller, input: UploadReleaseAssetInput): Promise<ReleaseAssetView> {
  const { release, principal } = await loadRelease(db, caller, input.releaseId, 'release:manage');
  const name = validateAssetName(input.name);
  const contentType = validateContentType(input.contentType);
  const limit = input.maxBytes ?? maxAssetBytes;
  if (input.declaredSize !== undefined && input.declaredSize > limit) throw tooLarge(limit);
  const [taken] = await db
    .select({ id: releaseAssets.id })
    .from(releaseAssets)
    .where(and(eq(releaseAssets.releaseId, release.id), eq(releaseAssets.name, name)));
  if (taken) throw new AppError('CONFLICT', `Release ${release.semanticVersion} already has an asset named ${name}; delete it first`, { field: 'name' });

  const hash = sha256.create();
  let size = 0;
  let exceeded = false;
  const counted = input.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        size += chunk.byteLength;
        if (size > limit) {
          exceeded = true;
          controller.error(tooLarge(limit));
          return;
        }
        hash.update(chunk);
        controller.enqueue(chunk);
      },
    }),
  );
  const id = crypto.randomUUID();
  const objectKey = `releases/${release.id}/assets/${id}/${name}`;
  try {
    await store.putMultipart(objectKey, counted, { contentType });
  } catch (error) {
    // The store aborted the upload: nothing was written.
    if (exceeded) throw tooLarge(limit);
    throw error;
  }
  const digest = hexEncode(hash.digest());
  const uploadedBy = principal.kind === 'user' ? principal.username : principal.name;
  try {
    await db.batch([
      db.insert(releaseAssets).values({ id, releaseId: release.id, name, sizeBytes: size, sha256: digest, contentType, objectKey, uploadedBy }),
      recordActivity(db, principal, {
        action: 'upload_asset',
        targetType: 'release',
        targetId: release.id,
        targetPrn: release.prn,
        ...releaseTarget(release),
        payload: { name, sizeBytes: size, sha256: digest },
      }),
    ]);
  } catch (error) {
    await store.delete(objectKey);
    rethrowConflict(error, 'release_assets_name_key', 'name', `Release ${release.semanticVersion} already has an asset named ${name}; delete it first`);
  }
  const [row] = await db.select().from(releaseAssets).where(eq(releaseAssets.id, id));
  return row!;
}

/** The assets of these releases (already authorized by the caller), by release, by name. */
export async function assetsOfReleases(db: HttpDatabase, releaseIds: readonly string[]): Promise<Map<string, ReleaseAssetView[]>> {
  const found = new Map<string, ReleaseAssetView[]>(releaseIds.map((id) => [id, []]));
  if (releaseIds.length === 0) return found;
  const rows = await db
    .select()
    .from(releaseAssets)
    .where(inArray(releaseAssets.releaseId, [...releaseIds]))
    .orderBy(asc(releaseAssets.name));
  for (const row of rows) found.get(row.releaseId)?.push(row);
  return found;
}

/** A URL the asset can be downloaded from for assetDownloadSeconds (the caller could see its release). */
export function assetDownloadUrl(store: AssetStore, asset: ReleaseAssetView): Promise<string> {
  return store.presignGet(asset.objectKey, assetDownloadSeconds);
}

/** Deletes the asset's row (with its event), then its object; returns what it was. */
export async function deleteReleaseAsset(
  db: HttpDatabase,
  store: AssetStore,
  caller: Caller,
  input: { releaseId: string; name: string },
): Promise<ReleaseAssetView> {
  const { release, principal } = await loadRelease(db, caller, input.releaseId, 'release:manage');
  const name = validateAssetName(input.name);
  const [asset] = await db
    .select()
    .from(releaseAssets)
    .where(and(eq(releaseAssets.releaseId, release.id), eq(releaseAssets.name, name)));
  if (!asset) throw notFound('Release asset');
  const [, deleted] = await db.batch([
    recordActivity(
      db,
      principal,
      {
        action: 'delete_asset',
        targetType: 'release',
        targetId: release.id,
        targetPrn: release.prn,
        ...releaseTarget(release),
        payload: { name, sizeBytes: asset.sizeBytes, sha256: asset.sha256 },
      },
      sql`exists (select 1 from release_assets where id = ${asset.id} for update)`,
    ),
    db.delete(releaseAssets).where(eq(releaseAssets.id, asset.id)).returning({ id: releaseAssets.id }),
  ]);
  if (deleted.length === 0) throw notFound('Release asset');
  // Once no row points at it, the object is unreachable; deleting it only frees the space.
  await store.delete(asset.objectKey);
  return asset;
}
