// The plugin registry of an organization (README: The plugin registry):
//   query { organization(name: "acme") { plugins { name versions { version platforms { os arch sha256 sizeBytes status } } } } }
//   mutation { createPlugin(input: { organizationId: "prn:organization:acme", name: "echo" }) { plugin { id } } }
//   mutation { createPluginVersion(input: { pluginId: "prn:plugin:acme/echo", version: "1.0.0" }) { pluginVersion { id } } }
//   mutation { createPluginPlatform(input: { pluginVersionId: "...", os: "linux", arch: "amd64", sha256: "...", sizeBytes: 1234 }) {
//     pluginPlatform { id } uploadParts { partNumber sizeBytes url } uploadExpiresAt } }
//   (PUT each part to its URL; keep each answer's ETag header)
//   mutation { completePluginPlatformUpload(input: { id: "...", parts: [{ partNumber: 1, etag: "..." }] }) { pluginPlatform { status } } }
import {
  completePluginPlatformUpload,
  createPlugin,
  createPluginPlatform,
  createPluginVersion,
  listPlugins,
  pluginIdsByPath,
  pluginPlatformIdsByPath,
  pluginVersionIdsByPath,
  pluginPlatformPrn,
  pluginPlatformsByIds,
  pluginPrn,
  pluginsByIds,
  pluginVersionPrn,
  pluginVersionsByIds,
  platformsOfVersion,
  versionsOfPlugin,
  type PluginPlatformView,
  type PluginVersionView,
  type PluginView,
} from '../../domain/plugins/service';
import { builder } from '../builder';
import type { GraphQLContext } from '../context';
import { ResourceMetadata } from '../metadata';
import { acceptPrns } from '../prns';
import { OrganizationNode } from './organizations';

acceptPrns('plugin', 'Plugin', pluginIdsByPath);
acceptPrns('plugin_version', 'PluginVersion', pluginVersionIdsByPath);
acceptPrns('plugin_platform', 'PluginPlatform', pluginPlatformIdsByPath);

const PluginPlatformStatusEnum = builder.enumType('PluginPlatformStatus', {
  description: 'PENDING: declared, its upload not completed yet. UPLOADED: stored, its size and SHA-256 checked.',
  values: { PENDING: { value: 'pending' }, UPLOADED: { value: 'uploaded' } } as const,
});

const PluginPlatformNode = builder.loadableNode('PluginPlatform', {
  description: 'The binary of a plugin version for one OS and architecture.',
  id: { resolve: (platform: PluginPlatformView) => platform.id },
  load: async (ids: string[], context: GraphQLContext): Promise<PluginPlatformView[]> => pluginPlatformsByIds(context.db.http, await context.caller(), ids),
  sort: (platform) => platform.id,
  fields: (t) => ({
    os: t.exposeString('os', { description: 'As Go names it: linux, darwin, windows, ...' }),
    arch: t.exposeString('arch', { description: 'As Go names it: amd64, arm64, ...' }),
    sha256: t.exposeString('sha256', { description: 'Hex SHA-256 of the binary; executors verify every download against it.' }),
    sizeBytes: t.exposeInt('sizeBytes'),
    signature: t.exposeString('signature', { nullable: true, description: "The publisher's detached signature, as published." }),
    status: t.field({ type: PluginPlatformStatusEnum, resolve: (platform) => platform.status }),
    metadata: t.field({
      type: ResourceMetadata,
      resolve: (platform) => ({ createdAt: platform.createdAt, updatedAt: platform.createdAt, version: 1, prn: pluginPlatformPrn(platform) }),
    }),
  }),
});

const PluginVersionNode = builder.loadableNode('PluginVersion', {
  description: 'A semantic version of a plugin, with its binaries.',
  id: { resolve: (version: PluginVersionView) => version.id },
  load: async (ids: string[], context: GraphQLContext): Promise<PluginVersionView[]> => pluginVersionsByIds(context.db.http, await context.caller(), ids),
  sort: (version) => version.id,
  fields: (t) => ({
    version: t.exposeString('semanticVersion'),
    platforms: t.field({
      type: [PluginPlatformNode],
      description: 'Its binaries, by OS and architecture.',
      extensions: { listSize: 4 },
      resolve: (version, _args, context) => platformsOfVersion(context.db.http, version.id),
    }),
    metadata: t.field({
      type: ResourceMetadata,
      resolve: (version) => ({ createdAt: version.createdAt, updatedAt: version.createdAt, version: 1, prn: pluginVersionPrn(version) }),
    }),
  }),
});

const PluginNode = builder.loadableNode('Plugin', {
  description: 'A plugin the organization publishes; templates require it as `source = "<organization>/<name>"`.',
  id: { resolve: (plugin: PluginView) => plugin.id },
  load: async (ids: string[], context: GraphQLContext): Promise<PluginView[]> => pluginsByIds(context.db.http, await context.caller(), ids),
  sort: (plugin) => plugin.id,
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    source: t.string({ description: 'What plugin_requirements names it by.', resolve: (plugin) => `${plugin.organizationName}/${plugin.name}` }),
    organization: t.field({ type: OrganizationNode, resolve: (plugin) => plugin.organizationId }),
    versions: t.field({
      type: [PluginVersionNode],
      description: 'Its versions, oldest first.',
      extensions: { listSize: 10 },
      resolve: (plugin, _args, context) => versionsOfPlugin(context.db.http, plugin.id),
    }),
    metadata: t.field({ type: ResourceMetadata, resolve: (plugin) => ({ ...plugin, prn: pluginPrn(plugin) }) }),
  }),
});

builder.objectField(OrganizationNode, 'plugins', (t) =>
  t.field({
    type: [PluginNode],
    description: "The organization's plugins, by name (needs plugin:view).",
    resolve: async (organization, _args, context) => listPlugins(context.db.http, await context.caller(), organization.id),
  }),
);

builder.relayMutationField(
  'createPlugin',
  {
    name: 'CreatePluginInput',
    inputFields: (t) => ({
      organizationId: t.globalID({ for: OrganizationNode, required: true }),
      name: t.string({ required: true, description: '1-64 lowercase letters, digits or inner hyphens; unique in the organization.' }),
      description: t.string(),
    }),
  },
  {
    description: 'Creates a plugin in the organization (needs plugin:manage).',
    resolve: async (_root, { input }, context) => ({
      plugin: await createPlugin(context.db.http, await context.caller(), {
        organizationId: input.organizationId.id,
        name: input.name,
        description: input.description ?? undefined,
      }),
    }),
  },
  { name: 'CreatePluginPayload', outputFields: (t) => ({ plugin: t.field({ type: PluginNode, resolve: (payload) => payload.plugin }) }) },
);

builder.relayMutationField(
  'createPluginVersion',
  {
    name: 'CreatePluginVersionInput',
    inputFields: (t) => ({
      pluginId: t.globalID({ for: PluginNode, required: true }),
      version: t.string({ required: true, description: 'A semantic version such as 1.4.2 (no build metadata); unique per plugin.' }),
    }),
  },
  {
    description: 'Adds a version to a plugin (needs plugin:manage); its binaries follow with createPluginPlatform.',
    resolve: async (_root, { input }, context) => ({
      pluginVersion: await createPluginVersion(context.db.http, await context.caller(), { pluginId: input.pluginId.id, version: input.version }),
    }),
  },
  {
    name: 'CreatePluginVersionPayload',
    outputFields: (t) => ({ pluginVersion: t.field({ type: PluginVersionNode, resolve: (payload) => payload.pluginVersion }) }),
  },
);

const UploadPartRef = builder.objectRef<{ partNumber: number; sizeBytes: number; url: string }>('PluginUploadPart').implement({
  description: 'One part of a binary: PUT exactly sizeBytes bytes to url, and keep the ETag header of the answer.',
  fields: (t) => ({
    partNumber: t.exposeInt('partNumber'),
    sizeBytes: t.exposeInt('sizeBytes'),
    url: t.exposeString('url', { description: 'A presigned URL: no credentials needed; it expires at uploadExpiresAt.' }),
  }),
});

builder.relayMutationField(
  'createPluginPlatform',
  {
    name: 'CreatePluginPlatformInput',
    inputFields: (t) => ({
      pluginVersionId: t.globalID({ for: PluginVersionNode, required: true }),
      os: t.string({ required: true }),
      arch: t.string({ required: true }),
      sha256: t.string({ required: true, description: "The binary's SHA-256, 64 hexadecimal digits." }),
      sizeBytes: t.int({ required: true, description: 'At most PHOBOS_PLUGIN_BINARY_MAX_UPLOAD_SIZE (413 PAYLOAD_TOO_LARGE otherwise).' }),
      signature: t.string({ description: 'A detached signature of the binary, kept as given.' }),
      partSizeBytes: t.int({ description: 'Bytes per part, 5 MiB to 64 MiB (default 16 MiB).' }),
    }),
  },
  {
    description:
      "Declares a version's binary for one OS and architecture (needs plugin:manage) and opens its upload: PUT the parts to their presigned URLs, then completePluginPlatformUpload. A pending binary of the same platform is replaced.",
    resolve: async (_root, { input }, context) =>
      createPluginPlatform(context.db.http, context.config, context.objects(), await context.caller(), {
        pluginVersionId: input.pluginVersionId.id,
        os: input.os,
        arch: input.arch,
        sha256: input.sha256,
        sizeBytes: input.sizeBytes,
        signature: input.signature ?? undefined,
        partSizeBytes: input.partSizeBytes ?? undefined,
      }),
  },
  {
    name: 'CreatePluginPlatformPayload',
    outputFields: (t) => ({
      pluginPlatform: t.field({ type: PluginPlatformNode, resolve: (payload) => payload.platform }),
      uploadParts: t.field({ type: [UploadPartRef], resolve: (payload) => payload.parts }),
      uploadExpiresAt: t.field({ type: 'Time', resolve: (payload) => payload.expiresAt }),
    }),
  },
);

const UploadedPartInput = builder.inputType('PluginUploadedPartInput', {
  fields: (t) => ({
    partNumber: t.int({ required: true }),
    etag: t.string({ required: true, description: "The ETag header of the part's upload." }),
  }),
});

builder.relayMutationField(
  'completePluginPlatformUpload',
  {
    name: 'CompletePluginPlatformUploadInput',
    inputFields: (t) => ({
      id: t.globalID({ for: PluginPlatformNode, required: true }),
      parts: t.field({ type: [UploadedPartInput], required: true }),
    }),
  },
  {
    description:
      'Completes the upload and checks the stored binary against its declared size and SHA-256: UPLOADED when they match; otherwise the binary is deleted and the error names the field (sizeBytes or sha256).',
    resolve: async (_root, { input }, context) => ({
      pluginPlatform: await completePluginPlatformUpload(context.db.http, context.objects(), await context.caller(), {
        id: input.id.id,
        parts: input.parts,
      }),
    }),
  },
  {
    name: 'CompletePluginPlatformUploadPayload',
    outputFields: (t) => ({ pluginPlatform: t.field({ type: PluginPlatformNode, resolve: (payload) => payload.pluginPlatform }) }),
  },
);
