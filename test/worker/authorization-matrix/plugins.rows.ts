// Authorization rows of the plugin registry: publishing (plugins, versions, binaries, completing an
// upload) takes plugin:manage (owners). A part upload URL is its own authorization, like a download
// URL: everyone holding a valid one uploads the part, and a forged one is refused to everyone,
// signed in or not.
import { createPlugin, createPluginPlatform, createPluginVersion } from '../../../src/domain/plugins/service';
import { objectStoreFor } from '../../../src/platform/object-store/select';
import { globalId } from '../../support/graphql';
import { adminCaller, graphqlOutcome, h, headersOf, inTenant, owners, same, tenant, unique, type Actor, type Outcome, type Row } from './world';

const binary = new TextEncoder().encode('#!/bin/sh\necho hi\n');
const binarySha256 = async () => [...new Uint8Array(await crypto.subtle.digest('SHA-256', binary))].map((byte) => byte.toString(16).padStart(2, '0')).join('');

async function plugin(): Promise<string> {
  return (await createPlugin(h.db.http, adminCaller, { organizationId: tenant.id, name: unique('plugin') })).id;
}

async function version(): Promise<string> {
  return (await createPluginVersion(h.db.http, adminCaller, { pluginId: await plugin(), version: '1.0.0' })).id;
}

async function declared() {
  return createPluginPlatform(h.db.http, h.config, objectStoreFor(h.env, h.config), adminCaller, {
    pluginVersionId: await version(),
    os: 'linux',
    arch: 'amd64',
    sha256: await binarySha256(),
    sizeBytes: binary.length,
  });
}

async function put(actor: Actor, url: URL): Promise<Response> {
  return h.request(`${url.pathname}${url.search}`, {
    method: 'PUT',
    headers: { ...headersOf(actor), 'content-length': String(binary.length) },
    body: binary,
  });
}

/** The actor's outcome with a valid part URL, provided the same actor is FORBIDDEN with a forged one. */
async function uploadPartOutcome(actor: Actor): Promise<Outcome> {
  const url = new URL((await declared()).parts[0]!.url);
  const forged = new URL(url);
  // The first character changed: it carries six bits of the MAC, so the forgery always differs
  // (changing the last two could leave a signature equal to the real one, or differing only in
  // padding bits).
  const signature = url.searchParams.get('signature')!;
  forged.searchParams.set('signature', `${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`);
  const refused = await put(actor, forged);
  await refused.body?.cancel();
  if (refused.status !== 403) return `status ${refused.status}`;
  const response = await put(actor, url);
  await response.body?.cancel();
  return response.status === 200 ? 'ok' : `status ${response.status}`;
}

export const graphqlRows: Record<string, Row> = {
  'Mutation.createPlugin': {
    run: (a) =>
      graphqlOutcome(a, 'mutation($input: CreatePluginInput!) { createPlugin(input: $input) { plugin { id } } }', {
        input: { organizationId: globalId('Organization', tenant.id), name: unique('plugin') },
      }),
    expected: inTenant(owners),
  },
  'Mutation.createPluginVersion': {
    run: async (a) =>
      graphqlOutcome(a, 'mutation($input: CreatePluginVersionInput!) { createPluginVersion(input: $input) { pluginVersion { id } } }', {
        input: { pluginId: globalId('Plugin', await plugin()), version: '1.0.0' },
      }),
    expected: inTenant(owners),
  },
  'Mutation.createPluginPlatform': {
    run: async (a) =>
      graphqlOutcome(a, 'mutation($input: CreatePluginPlatformInput!) { createPluginPlatform(input: $input) { uploadParts { url } } }', {
        input: {
          pluginVersionId: globalId('PluginVersion', await version()),
          os: 'linux',
          arch: 'amd64',
          sha256: await binarySha256(),
          sizeBytes: binary.length,
        },
      }),
    expected: inTenant(owners),
  },
  'Mutation.completePluginPlatformUpload': {
    run: async (a) => {
      const { platform, parts } = await declared();
      const response = await put('anonymous', new URL(parts[0]!.url));
      const etag = response.headers.get('etag')!;
      await response.body?.cancel();
      return graphqlOutcome(
        a,
        'mutation($input: CompletePluginPlatformUploadInput!) { completePluginPlatformUpload(input: $input) { pluginPlatform { status } } }',
        { input: { id: globalId('PluginPlatform', platform.id), parts: [{ partNumber: 1, etag }] } },
      );
    },
    expected: inTenant(owners),
  },
};

export const restRows: Record<string, Row> = {
  'PUT /objects/upload-part': { run: uploadPartOutcome, expected: same('ok') },
};
