// The plugin registry: plugins an organization publishes for its templates' `plugin_requirements`
// (`source = "<organization>/<name>"`). A plugin has semantic versions; a version has one binary per
// OS and architecture, with its SHA-256, size and optional signature. Binaries never pass through the
// Worker whole: createPluginPlatform checks the declared size against
// PHOBOS_PLUGIN_BINARY_MAX_UPLOAD_SIZE (over it: 413, nothing kept), opens a multipart upload in the
// object store and hands out one presigned URL per part; the publisher PUTs the parts straight to the
// store (or, with R2, to the Worker-signed part route, one part per request), then
// completePluginPlatformUpload completes the upload, reads the object back as a stream to check its
// size and SHA-256, and marks the binary uploaded, or deletes the object and the row and says why.
// Seeing plugins takes plugin:view (every role), publishing plugin:manage (owners).
import { and, asc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { AuthenticatedPrincipal } from '../../auth/principal';
import { authorize, isAllowed, type Caller } from '../../auth/rbac';
import type { PhobosConfig } from '../../config/load';
import type { HttpDatabase } from '../../db/client';
import { rethrowConflict } from '../../db/postgres-errors';
import { organizations, pluginPlatforms, plugins, pluginVersions, type PluginPlatformRow, type PluginRow, type PluginVersionRow } from '../../db/schema';
import { AppError, badInput, notFound } from '../../errors';
import { maximumPartNumber, type ObjectStore, ObjectStoreError } from '../../platform/object-store/object-store';
import { recordActivity } from '../activity/record';
import { isUuid, wellFormedIds } from '../ids';
import { validateDescription, validateName } from '../names';
import { prnOf } from '../prn';
import { principalName } from '../templates/upload';
import { sha256OfStream } from './digest';
import { checkPluginVersion } from './version-constraints';

export interface PluginView extends PluginRow {
  organizationName: string;
}

export interface PluginVersionView extends PluginVersionRow {
  organizationId: string;
  organizationName: string;
  pluginName: string;
}

export interface PluginPlatformView extends PluginPlatformRow {
  organizationId: string;
  organizationName: string;
  pluginName: string;
  semanticVersion: string;
}

export const pluginPrn = (view: { organizationName: string; name: string }) => prnOf('plugin', view.organizationName, view.name);
export const pluginVersionPrn = (view: { organizationName: string; pluginName: string; semanticVersion: string }) =>
  prnOf('plugin_version', view.organizationName, view.pluginName, view.semanticVersion);
export const pluginPlatformPrn = (view: PluginPlatformView) =>
  prnOf('plugin_platform', view.organizationName, view.pluginName, view.semanticVersion, `${view.os}_${view.arch}`);

const mebibyte = 1024 * 1024;
/** Parts of a binary: 16 MiB unless the publisher asks for 5–64 MiB (each part is one request, far under a Worker's body cap). */
const defaultPartSize = 16 * mebibyte;
const minimumPartSize = 5 * mebibyte;
const maximumPartSize = 64 * mebibyte;
/** How long part URLs work: long enough for a gigabyte on a slow link. */
const uploadUrlSeconds = 3600;

// ---------------------------------------------------------------------------------------------
// Reading

function pluginViews(db: HttpDatabase, where: SQL | undefined) {
  return db
    .select({ plugin: plugins, organizationName: organizations.name })
    .from(plugins)
    .innerJoin(organizations, eq(organizations.id, plugins.organizationId))
    .where(where)
    .orderBy(asc(plugins.name), asc(plugins.id))
    .then((rows) => rows.map(({ plugin, organizationName }) => ({ ...plugin, organizationName })));
}

function versionViews(db: HttpDatabase, where: SQL | undefined) {
  return db
    .select({ version: pluginVersions, organizationId: plugins.organizationId, organizationName: organizations.name, pluginName: plugins.name })
    .from(pluginVersions)
    .innerJoin(plugins, eq(plugins.id, pluginVersions.pluginId))
    .innerJoin(organizations, eq(organizations.id, plugins.organizationId))
    .where(where)
    .orderBy(asc(pluginVersions.createdAt), asc(pluginVersions.id))
    .then((rows) => rows.map(({ version, ...rest }) => ({ ...version, ...rest })));
}

function platformViews(db: HttpDatabase, where: SQL | undefined) {
  return db
    .select({
      platform: pluginPlatforms,
      organizationId: plugins.organizationId,
      organizationName: organizations.name,
      pluginName: plugins.name,
      semanticVersion: pluginVersions.semanticVersion,
    })
    .from(pluginPlatforms)
    .innerJoin(pluginVersions, eq(pluginVersions.id, pluginPlatforms.pluginVersionId))
    .innerJoin(plugins, eq(plugins.id, pluginVersions.pluginId))
    .innerJoin(organizations, eq(organizations.id, plugins.organizationId))
    .where(where)
    .orderBy(asc(pluginPlatforms.os), asc(pluginPlatforms.arch))
    .then((rows) => rows.map(({ platform, ...rest }) => ({ ...platform, ...rest })));
}

async function loadPlugin(db: HttpDatabase, id: string): Promise<PluginView> {
  if (!isUuid(id)) throw notFound('Plugin');
  const [view] = await pluginViews(db, eq(plugins.id, id));
  if (!view) throw notFound('Plugin');
  return view;
}

async function loadVersion(db: HttpDatabase, id: string): Promise<PluginVersionView> {
  if (!isUuid(id)) throw notFound('Plugin version');
  const [view] = await versionViews(db, eq(pluginVersions.id, id));
  if (!view) throw notFound('Plugin version');
  return view;
}

async function loadPlatform(db: HttpDatabase, id: string): Promise<PluginPlatformView> {
  if (!isUuid(id)) throw notFound('Plugin platform');
  const [view] = await platformViews(db, eq(pluginPlatforms.id, id));
  if (!view) throw notFound('Plugin platform');
  return view;
}

/** The organization's plugins, by name. */
export async function listPlugins(db: HttpDatabase, caller: Caller, organizationId: string): Promise<PluginView[]> {
  authorize(caller, 'plugin:view', { organizationId });
  return pluginViews(db, eq(plugins.organizationId, organizationId));
}

export async function pluginsByIds(db: HttpDatabase, caller: Caller, ids: readonly string[]): Promise<PluginView[]> {
  const wellFormed = wellFormedIds(ids);
  if (wellFormed.length === 0) return [];
  const rows = await pluginViews(db, inArray(plugins.id, wellFormed));
  return rows.filter((row) => isAllowed(caller, 'plugin:view', { organizationId: row.organizationId }));
}

export async function pluginVersionsByIds(db: HttpDatabase, caller: Caller, ids: readonly string[]): Promise<PluginVersionView[]> {
  const wellFormed = wellFormedIds(ids);
  if (wellFormed.length === 0) return [];
  const rows = await versionViews(db, inArray(pluginVersions.id, wellFormed));
  return rows.filter((row) => isAllowed(caller, 'plugin:view', { organizationId: row.organizationId }));
}

export async function pluginPlatformsByIds(db: HttpDatabase, caller: Caller, ids: readonly string[]): Promise<PluginPlatformView[]> {
  const wellFormed = wellFormedIds(ids);
  if (wellFormed.length === 0) return [];
  const rows = await platformViews(db, inArray(pluginPlatforms.id, wellFormed));
  return rows.filter((row) => isAllowed(caller, 'plugin:view', { organizationId: row.organizationId }));
}

/** A plugin's versions, oldest first (the caller could see the plugin). */
export function versionsOfPlugin(db: HttpDatabase, pluginId: string): Promise<PluginVersionView[]> {
  return versionViews(db, eq(pluginVersions.pluginId, pluginId));
}

/** A version's binaries, by OS and architecture (the caller could see the version). */
export function platformsOfVersion(db: HttpDatabase, versionId: string): Promise<PluginPlatformView[]> {
  return platformViews(db, eq(pluginPlatforms.pluginVersionId, versionId));
}

/** Plugin ids by PRN path `<organization>/<name>`. */
export async function pluginIdsByPath(db: HttpDatabase, paths: string[][]): Promise<Map<string, string>> {
  const wanted = paths.filter((path) => path.length === 2);
  if (wanted.length === 0) return new Map();
  const rows = await db
    .select({ id: plugins.id, organizationName: organizations.name, name: plugins.name })
    .from(plugins)
    .innerJoin(organizations, eq(organizations.id, plugins.organizationId))
    .where(inArray(organizations.name, [...new Set(wanted.map((path) => path[0]!))]));
  return new Map(rows.map((row) => [`${row.organizationName}/${row.name}`, row.id]));
}

/** Plugin version ids by PRN path `<organization>/<name>/<version>`. */
export async function pluginVersionIdsByPath(db: HttpDatabase, paths: string[][]): Promise<Map<string, string>> {
  const rows = await versionViews(db, pathCondition(paths, 3));
  return new Map(rows.map((row) => [`${row.organizationName}/${row.pluginName}/${row.semanticVersion}`, row.id]));
}

/** Plugin platform ids by PRN path `<organization>/<name>/<version>/<os>_<arch>`. */
export async function pluginPlatformIdsByPath(db: HttpDatabase, paths: string[][]): Promise<Map<string, string>> {
  const rows = await platformViews(db, pathCondition(paths, 4));
  return new Map(rows.map((row) => [`${row.organizationName}/${row.pluginName}/${row.semanticVersion}/${row.os}_${row.arch}`, row.id]));
}

/** Rows of the organizations and plugins the paths (of `length` segments) name; the caller matches them exactly. */
function pathCondition(paths: string[][], length: number): SQL {
  const wanted = paths.filter((path) => path.length === length);
  if (wanted.length === 0) return sql`false`;
  return and(inArray(organizations.name, [...new Set(wanted.map((path) => path[0]!))]), inArray(plugins.name, [...new Set(wanted.map((path) => path[1]!))]))!;
}

// ---------------------------------------------------------------------------------------------
// Publishing

function activity(principal: AuthenticatedPrincipal, db: HttpDatabase, input: Parameters<typeof recordActivity>[2], onlyIf?: SQL) {
  return recordActivity(db, principal, input, onlyIf);
}

export interface CreatePluginInput {
  organizationId: string;
  name: string;
  description?: string;
}

export async function createPlugin(db: HttpDatabase, caller: Caller, input: CreatePluginInput): Promise<PluginView> {
  const principal = authorize(caller, 'plugin:manage', { organizationId: input.organizationId });
  const name = validateName('name', input.name);
  const description = validateDescription(input.description);
  const id = crypto.randomUUID();
  try {
    await db.batch([
      db.insert(plugins).values({ id, organizationId: input.organizationId, name, description, createdBy: principalName(principal) }),
      activity(principal, db, {
        action: 'create',
        targetType: 'plugin',
        targetId: id,
        targetPrn: sql`(select 'prn:plugin:' || name || '/' || ${name} from organizations where id = ${input.organizationId})`,
        organizationId: input.organizationId,
        payload: { name },
      }),
    ]);
  } catch (error) {
    rethrowConflict(error, 'plugins_organization_name_key', 'name', `The organization already has a plugin named "${name}"`);
  }
  return loadPlugin(db, id);
}

export async function createPluginVersion(db: HttpDatabase, caller: Caller, input: { pluginId: string; version: string }): Promise<PluginVersionView> {
  const plugin = await loadPlugin(db, input.pluginId);
  const principal = authorize(caller, 'plugin:manage', { organizationId: plugin.organizationId }, 'Plugin');
  const semanticVersion = checkPluginVersion('version', input.version);
  const id = crypto.randomUUID();
  try {
    await db.batch([
      db.insert(pluginVersions).values({ id, pluginId: plugin.id, semanticVersion, createdBy: principalName(principal) }),
      activity(principal, db, {
        action: 'create',
        targetType: 'plugin_version',
        targetId: id,
        targetPrn: pluginVersionPrn({ organizationName: plugin.organizationName, pluginName: plugin.name, semanticVersion }),
        organizationId: plugin.organizationId,
        payload: { plugin: plugin.name, version: semanticVersion },
      }),
    ]);
  } catch (error) {
    rethrowConflict(error, 'plugin_versions_plugin_version_key', 'version', `Plugin "${plugin.name}" already has version ${semanticVersion}`);
  }
  return loadVersion(db, id);
}

const platformWord = /^[a-z0-9][a-z0-9_]{0,31}$/;
const sha256Pattern = /^[0-9a-f]{64}$/;

export interface CreatePluginPlatformInput {
  pluginVersionId: string;
  /** As Go names them: linux, darwin, windows, ... */
  os: string;
  /** As Go names them: amd64, arm64, ... */
  arch: string;
  /** Hex SHA-256 of the binary. */
  sha256: string;
  sizeBytes: number;
  signature?: string;
  partSizeBytes?: number;
}

export interface UploadPart {
  partNumber: number;
  sizeBytes: number;
  url: string;
}

export interface PluginPlatformUpload {
  platform: PluginPlatformView;
  parts: UploadPart[];
  expiresAt: Date;
}

const tooLarge = (limit: number, declared: number) =>
  new AppError('PAYLOAD_TOO_LARGE', `sizeBytes: a plugin binary may be at most ${limit} bytes (PHOBOS_PLUGIN_BINARY_MAX_UPLOAD_SIZE), not ${declared}`, {
    field: 'sizeBytes',
    details: { limit },
  });

/** The parts a binary of `size` bytes is uploaded in: all `partSize` long but the last. */
function partsOf(size: number, partSize: number): { partNumber: number; sizeBytes: number }[] {
  const count = Math.max(1, Math.ceil(size / partSize));
  return Array.from({ length: count }, (_, index) => ({ partNumber: index + 1, sizeBytes: index + 1 < count ? partSize : size - partSize * (count - 1) }));
}

/**
 * Declares the binary of a version for one OS and architecture, and opens its upload. A pending
 * binary of the same platform (an upload that was never completed) is replaced; an uploaded one is
 * immutable (CONFLICT).
 */
export async function createPluginPlatform(
  db: HttpDatabase,
  config: PhobosConfig,
  store: ObjectStore,
  caller: Caller,
  input: CreatePluginPlatformInput,
): Promise<PluginPlatformUpload> {
  const version = await loadVersion(db, input.pluginVersionId);
  const principal = authorize(caller, 'plugin:manage', { organizationId: version.organizationId }, 'Plugin version');
  const os = input.os.trim();
  const arch = input.arch.trim();
  if (!platformWord.test(os)) throw badInput('os', 'must be an operating system as Go names it, e.g. linux, darwin, windows');
  if (!platformWord.test(arch)) throw badInput('arch', 'must be an architecture as Go names it, e.g. amd64, arm64');
  const sha256 = input.sha256.trim().toLowerCase();
  if (!sha256Pattern.test(sha256)) throw badInput('sha256', "must be the binary's SHA-256 as 64 hexadecimal digits");
  if (!Number.isSafeInteger(input.sizeBytes) || input.sizeBytes < 1) throw badInput('sizeBytes', "must be the binary's size in bytes, 1 or more");
  const limit = config.server.pluginBinaryMaxUploadSize;
  if (input.sizeBytes > limit) throw tooLarge(limit, input.sizeBytes);
  const signature = input.signature?.trim() || null;
  if (signature !== null && signature.length > 16_384) throw badInput('signature', 'must be at most 16384 characters');
  const partSize = input.partSizeBytes ?? defaultPartSize;
  if (!Number.isSafeInteger(partSize) || partSize < minimumPartSize || partSize > maximumPartSize) {
    throw badInput('partSizeBytes', `must be from ${minimumPartSize} (5 MiB) to ${maximumPartSize} (64 MiB) bytes`);
  }
  const parts = partsOf(input.sizeBytes, partSize);
  if (parts.length > maximumPartNumber) throw badInput('partSizeBytes', `would make ${parts.length} parts; at most ${maximumPartNumber}: choose larger parts`);

  const [existing] = await db
    .select()
    .from(pluginPlatforms)
    .where(and(eq(pluginPlatforms.pluginVersionId, version.id), eq(pluginPlatforms.os, os), eq(pluginPlatforms.arch, arch)));
  if (existing?.status === 'uploaded') {
    throw new AppError('CONFLICT', `Version ${version.semanticVersion} of plugin "${version.pluginName}" already has a binary for ${os}/${arch}`, {
      field: 'os',
    });
  }
  if (existing) await discard(db, store, existing);

  const id = crypto.randomUUID();
  const objectKey = `plugins/${version.organizationId}/${version.pluginId}/${version.id}/${os}_${arch}/${crypto.randomUUID()}`;
  const uploadId = await store.createMultipartUpload(objectKey, { contentType: 'application/octet-stream' });
  try {
    await db.batch([
      db.insert(pluginPlatforms).values({
        id,
        pluginVersionId: version.id,
        os,
        arch,
        sha256,
        sizeBytes: input.sizeBytes,
        signature,
        objectKey,
        uploadId,
        partSizeBytes: partSize,
        createdBy: principalName(principal),
      }),
      activity(principal, db, {
        action: 'create',
        targetType: 'plugin_platform',
        targetId: id,
        targetPrn: prnOf('plugin_platform', version.organizationName, version.pluginName, version.semanticVersion, `${os}_${arch}`),
        organizationId: version.organizationId,
        payload: { plugin: version.pluginName, version: version.semanticVersion, os, arch, sha256, sizeBytes: input.sizeBytes },
      }),
    ]);
  } catch (error) {
    await store.abortMultipartUpload(objectKey, uploadId);
    rethrowConflict(error, 'plugin_platforms_version_os_arch_key', 'os', `Version ${version.semanticVersion} already has a binary for ${os}/${arch}`);
  }
  const urls = await Promise.all(parts.map((part) => store.presignUploadPart(objectKey, uploadId, part, uploadUrlSeconds)));
  return {
    platform: await loadPlatform(db, id),
    parts: parts.map((part, index) => ({ ...part, url: urls[index]! })),
    expiresAt: new Date(Date.now() + uploadUrlSeconds * 1000),
  };
}

/** Drops a binary that is not (or no longer) wanted: its open upload, its object, its row. */
export async function discard(db: HttpDatabase, store: ObjectStore, platform: PluginPlatformRow): Promise<void> {
  if (platform.uploadId) await store.abortMultipartUpload(platform.objectKey, platform.uploadId);
  await store.delete(platform.objectKey);
  await db.delete(pluginPlatforms).where(eq(pluginPlatforms.id, platform.id));
}

export interface CompletePluginPlatformUploadInput {
  id: string;
  parts: readonly { partNumber: number; etag: string }[];
}

/**
 * Completes the upload, then checks what was stored against what was declared: a different size or
 * SHA-256 deletes the object and the binary (publish it again), anything else marks it uploaded.
 */
export async function completePluginPlatformUpload(
  db: HttpDatabase,
  store: ObjectStore,
  caller: Caller,
  input: CompletePluginPlatformUploadInput,
): Promise<PluginPlatformView> {
  const platform = await loadPlatform(db, input.id);
  const principal = authorize(caller, 'plugin:manage', { organizationId: platform.organizationId }, 'Plugin platform');
  if (platform.status === 'uploaded' || !platform.uploadId) throw new AppError('CONFLICT', 'This binary is uploaded already', { field: 'id' });
  const expected = partsOf(platform.sizeBytes, platform.partSizeBytes);
  const given = [...input.parts].sort((a, b) => a.partNumber - b.partNumber);
  const numbersMatch = given.length === expected.length && given.every((part, index) => part.partNumber === index + 1);
  if (!numbersMatch) throw badInput('parts', `give the ETag of each of the ${expected.length} parts, numbered 1 to ${expected.length}`);
  if (given.some((part) => part.etag.length === 0 || part.etag.length > 1024)) throw badInput('parts', 'every part needs the ETag its upload answered');

  try {
    await store.completeMultipartUpload(platform.objectKey, platform.uploadId, given);
  } catch (error) {
    if (!(error instanceof ObjectStoreError) || error.code === 'unavailable') throw error;
    // Missing parts, wrong ETags, parts of the wrong size: the upload stays open to be fixed.
    throw badInput('parts', `the object store could not complete the upload (${error.code}): upload every part, then give their ETags`);
  }
  const refuse = async (field: string, message: string): Promise<never> => {
    await store.delete(platform.objectKey);
    await db.delete(pluginPlatforms).where(eq(pluginPlatforms.id, platform.id));
    throw badInput(field, `${message}; the upload was discarded: declare the binary again`);
  };
  const object = await store.get(platform.objectKey);
  if (!object) return refuse('parts', 'the completed object is missing from the store');
  if (object.size !== platform.sizeBytes) {
    await object.body.cancel();
    return refuse('sizeBytes', `the uploaded binary has ${object.size} bytes, not the ${platform.sizeBytes} declared`);
  }
  const actual = await sha256OfStream(object.body);
  if (actual !== platform.sha256) return refuse('sha256', `the uploaded binary's SHA-256 is ${actual}, not the ${platform.sha256} declared`);

  await db.batch([
    db.update(pluginPlatforms).set({ status: 'uploaded', uploadId: null }).where(eq(pluginPlatforms.id, platform.id)),
    activity(principal, db, {
      action: 'upload',
      targetType: 'plugin_platform',
      targetId: platform.id,
      targetPrn: pluginPlatformPrn(platform),
      organizationId: platform.organizationId,
      payload: { sha256: platform.sha256, sizeBytes: platform.sizeBytes },
    }),
  ]);
  return loadPlatform(db, platform.id);
}
