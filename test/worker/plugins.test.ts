// The plugin registry over GraphQL against the real app, a real database and the R2 binding
// (miniflare): publishing a plugin, a version and a binary uploaded by presigned multipart (two
// parts through the Worker-signed part route, each its own request), the SHA-256 checked when the
// upload completes; and what is refused: a binary over PHOBOS_PLUGIN_BINARY_MAX_UPLOAD_SIZE (413,
// nothing kept), a checksum or size that does not match (object and row deleted), forged or
// wrong-sized part uploads, duplicates, viewers publishing, another organization's plugins.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCaller } from '../../src/auth/caller';
import { addMember } from '../../src/domain/memberships/service';
import { createOrganization } from '../../src/domain/organizations/service';
import { abandonedPluginUploadsTask, discardAbandonedPluginUploads } from '../../src/domain/plugins/abandoned-uploads';
import { scheduledTasks } from '../../src/scheduled/tasks';
import { objectStoreFor } from '../../src/platform/object-store/select';
import { globalId, graphqlHarness, type GraphQLHarness, type GraphQLResult, type Identity } from '../support/graphql';

let h: GraphQLHarness;
let owner: Identity;
let viewer: Identity;
let outsider: Identity;
let organizationId: string;

const codeOf = (result: GraphQLResult<unknown>) => result.errors?.[0]?.extensions?.code;
const fieldOf = (result: GraphQLResult<unknown>) => result.errors?.[0]?.extensions?.field;
const mebibyte = 1024 * 1024;

async function hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

function bytesOf(size: number, seed: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  for (let index = 0; index < size; index++) bytes[index] = (index * 31 + seed) & 0xff;
  return bytes;
}

async function ok<T>(query: string, variables: Record<string, unknown>, as: Identity = owner): Promise<T> {
  const result = await h.gql<T>(query, variables, { as });
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data!;
}

const createPlatform = `mutation($input: CreatePluginPlatformInput!) { createPluginPlatform(input: $input) {
  pluginPlatform { id status sha256 sizeBytes metadata { prn } } uploadParts { partNumber sizeBytes url } uploadExpiresAt } }`;
const complete = `mutation($input: CompletePluginPlatformUploadInput!) { completePluginPlatformUpload(input: $input) { pluginPlatform { id status } } }`;

interface PlatformAnswer {
  createPluginPlatform: {
    pluginPlatform: { id: string; status: string; metadata: { prn: string } };
    uploadParts: { partNumber: number; sizeBytes: number; url: string }[];
  };
}

async function newVersion(pluginName: string, version: string): Promise<string> {
  const plugin = await ok<{ createPlugin: { plugin: { id: string } } }>(
    'mutation($input: CreatePluginInput!) { createPlugin(input: $input) { plugin { id } } }',
    { input: { organizationId: globalId('Organization', organizationId), name: pluginName } },
  );
  const created = await ok<{ createPluginVersion: { pluginVersion: { id: string } } }>(
    'mutation($input: CreatePluginVersionInput!) { createPluginVersion(input: $input) { pluginVersion { id } } }',
    { input: { pluginId: plugin.createPlugin.plugin.id, version } },
  );
  return created.createPluginVersion.pluginVersion.id;
}

/** PUTs each part to its URL through the app; the ETags the answers carry. */
async function uploadParts(parts: PlatformAnswer['createPluginPlatform']['uploadParts'], body: Uint8Array<ArrayBuffer>) {
  let offset = 0;
  const etags: { partNumber: number; etag: string }[] = [];
  for (const part of parts) {
    const url = new URL(part.url);
    const chunk = body.slice(offset, offset + part.sizeBytes);
    offset += part.sizeBytes;
    const response = await h.request(`${url.pathname}${url.search}`, {
      method: 'PUT',
      body: chunk,
      headers: { 'content-length': String(chunk.length), 'content-type': 'application/octet-stream' },
    });
    expect(response.status, await response.clone().text()).toBe(200);
    etags.push({ partNumber: part.partNumber, etag: response.headers.get('etag')! });
  }
  return etags;
}

beforeAll(async () => {
  h = await graphqlHarness();
  const admin = await h.createUser({ admin: true });
  owner = await h.createUser();
  viewer = await h.createUser();
  outsider = await h.createUser();
  const adminCaller = await loadCaller(h.db.http, { kind: 'user', userId: admin.id, username: admin.name, email: '', isAdmin: true, via: 'access_token' });
  organizationId = (await createOrganization(h.db.http, adminCaller, { name: 'plugin-org' })).id;
  await addMember(h.db.http, adminCaller, { organizationId, userId: owner.id, role: 'owner' });
  await addMember(h.db.http, adminCaller, { organizationId, userId: viewer.id, role: 'viewer' });
  const other = await createOrganization(h.db.http, adminCaller, { name: 'plugin-other' });
  await addMember(h.db.http, adminCaller, { organizationId: other.id, userId: outsider.id, role: 'owner' });
});

describe('publishing a plugin', () => {
  it('uploads a binary in two presigned parts, checks its SHA-256 on completion, and lists it', async () => {
    const versionId = await newVersion('deployer', '1.2.0');
    const binary = bytesOf(5 * mebibyte + 1234, 7);
    const sha256 = await hex(binary);
    const declared = await ok<PlatformAnswer>(createPlatform, {
      input: { pluginVersionId: versionId, os: 'linux', arch: 'amd64', sha256, sizeBytes: binary.length, partSizeBytes: 5 * mebibyte, signature: 'sig' },
    });
    const { pluginPlatform, uploadParts: parts } = declared.createPluginPlatform;
    expect(pluginPlatform.status).toBe('PENDING');
    expect(pluginPlatform.metadata.prn).toBe('prn:plugin_platform:plugin-org/deployer/1.2.0/linux_amd64');
    expect(parts.map((part) => [part.partNumber, part.sizeBytes])).toEqual([
      [1, 5 * mebibyte],
      [2, 1234],
    ]);
    expect(new URL(parts[0]!.url).pathname).toBe('/objects/upload-part');

    const etags = await uploadParts(parts, binary);
    const done = await ok<{ completePluginPlatformUpload: { pluginPlatform: { status: string } } }>(complete, {
      input: { id: pluginPlatform.id, parts: etags },
    });
    expect(done.completePluginPlatformUpload.pluginPlatform.status).toBe('UPLOADED');

    // The stored object is the binary, byte for byte.
    const key = (await h.db.http.execute<{ object_key: string }>(sql`select object_key from plugin_platforms where sha256 = ${sha256}`)).rows[0]!.object_key;
    const stored = await objectStoreFor(h.env, h.config).get(key);
    expect(await hex(new Uint8Array(await new Response(stored!.body).arrayBuffer()))).toBe(sha256);

    const listed = await ok<{ organization: { plugins: { name: string; source: string; metadata: { prn: string }; versions: unknown[] }[] } }>(
      'query { organization(name: "plugin-org") { plugins { name source metadata { prn } versions { version platforms { os arch sha256 sizeBytes signature status } } } } }',
      {},
      viewer,
    );
    expect(listed.organization.plugins.find((plugin) => plugin.name === 'deployer')).toEqual({
      name: 'deployer',
      source: 'plugin-org/deployer',
      metadata: { prn: 'prn:plugin:plugin-org/deployer' },
      versions: [{ version: '1.2.0', platforms: [{ os: 'linux', arch: 'amd64', sha256, sizeBytes: binary.length, signature: 'sig', status: 'UPLOADED' }] }],
    });
    // Found by PRN too.
    const byPrn = await ok<{ node: { name: string } | null }>('query { node(id: "prn:plugin:plugin-org/deployer") { ... on Plugin { name } } }', {}, viewer);
    expect(byPrn.node).toEqual({ name: 'deployer' });
    const platformByPrn = await ok<{ node: { sha256: string } | null }>(
      'query { node(id: "prn:plugin_platform:plugin-org/deployer/1.2.0/linux_amd64") { ... on PluginPlatform { sha256 } } }',
      {},
      viewer,
    );
    expect(platformByPrn.node).toEqual({ sha256 });
    const versionByPrn = await ok<{ node: { version: string } | null }>(
      'query { node(id: "prn:plugin_version:plugin-org/deployer/1.2.0") { ... on PluginVersion { version } } }',
      {},
      viewer,
    );
    expect(versionByPrn.node).toEqual({ version: '1.2.0' });

    // Uploaded binaries are immutable.
    const again = await h.gql(
      createPlatform,
      { input: { pluginVersionId: versionId, os: 'linux', arch: 'amd64', sha256, sizeBytes: binary.length } },
      { as: owner },
    );
    expect(codeOf(again)).toBe('CONFLICT');
    const events = await h.db.http.execute<{ action: string; target_type: string }>(
      sql`select action, target_type from activity_events where organization_id = ${organizationId} and target_type like 'plugin%' order by created_at, id`,
    );
    expect(events.rows.map((row) => `${row.target_type}:${row.action}`)).toEqual(
      expect.arrayContaining(['plugin:create', 'plugin_version:create', 'plugin_platform:create', 'plugin_platform:upload']),
    );
  });

  it('refuses a binary over PHOBOS_PLUGIN_BINARY_MAX_UPLOAD_SIZE with 413 naming sizeBytes, keeping nothing', async () => {
    const versionId = await newVersion('huge', '1.0.0');
    const before = (await h.db.http.execute<{ count: number }>(sql`select count(*)::int as count from plugin_platforms`)).rows[0]!.count;
    const result = await h.gql(
      createPlatform,
      { input: { pluginVersionId: versionId, os: 'linux', arch: 'amd64', sha256: 'a'.repeat(64), sizeBytes: 1073741825 } },
      { as: owner },
    );
    expect(codeOf(result)).toBe('PAYLOAD_TOO_LARGE');
    expect(fieldOf(result)).toBe('sizeBytes');
    expect(result.errors![0]!.message).toContain('1073741824');
    const after = (await h.db.http.execute<{ count: number }>(sql`select count(*)::int as count from plugin_platforms`)).rows[0]!.count;
    expect(after).toBe(before);
  });

  it('deletes the object and the binary when the uploaded bytes do not match the declared SHA-256', async () => {
    const versionId = await newVersion('tampered', '1.0.0');
    const binary = bytesOf(4096, 3);
    const declared = await ok<PlatformAnswer>(createPlatform, {
      input: { pluginVersionId: versionId, os: 'linux', arch: 'arm64', sha256: await hex(bytesOf(4096, 4)), sizeBytes: binary.length },
    });
    const { pluginPlatform, uploadParts: parts } = declared.createPluginPlatform;
    const ofTampered = sql`from plugin_platforms p join plugin_versions v on v.id = p.plugin_version_id join plugins g on g.id = v.plugin_id where g.name = 'tampered'`;
    const key = (await h.db.http.execute<{ object_key: string }>(sql`select p.object_key ${ofTampered}`)).rows[0]!.object_key;
    const etags = await uploadParts(parts, binary);
    const result = await h.gql(complete, { input: { id: pluginPlatform.id, parts: etags } }, { as: owner });
    expect(codeOf(result)).toBe('BAD_USER_INPUT');
    expect(fieldOf(result)).toBe('sha256');
    expect(result.errors![0]!.message).toContain(await hex(binary));
    expect(result.errors![0]!.message).toContain('discarded');
    expect((await h.db.http.execute(sql`select 1 ${ofTampered}`)).rows).toHaveLength(0);
    expect(await objectStoreFor(h.env, h.config).head(key)).toBeNull();
    const node = await ok<{ node: unknown }>('query($id: ID!) { node(id: $id) { id } }', { id: pluginPlatform.id });
    expect(node.node).toBeNull();
  });

  it('deletes the object and the binary when the stored size is not the declared one', async () => {
    // Only a client holding the store's own credentials (or an S3 URL, which cannot bind a length)
    // could send another size: the completion checks it whatever the store.
    const versionId = await newVersion('resized', '1.0.0');
    const binary = bytesOf(1000, 9);
    const declared = await ok<PlatformAnswer>(createPlatform, {
      input: { pluginVersionId: versionId, os: 'linux', arch: 'amd64', sha256: await hex(binary), sizeBytes: binary.length },
    });
    const ofResized = sql`from plugin_platforms p join plugin_versions v on v.id = p.plugin_version_id join plugins g on g.id = v.plugin_id where g.name = 'resized'`;
    const row = (await h.db.http.execute<{ object_key: string; upload_id: string }>(sql`select p.object_key, p.upload_id ${ofResized}`)).rows[0]!;
    const store = objectStoreFor(h.env, h.config);
    const etag = await store.uploadPart(row.object_key, row.upload_id, 1, binary.slice(0, 999));
    const result = await h.gql(complete, { input: { id: declared.createPluginPlatform.pluginPlatform.id, parts: [{ partNumber: 1, etag }] } }, { as: owner });
    expect(codeOf(result)).toBe('BAD_USER_INPUT');
    expect(fieldOf(result)).toBe('sizeBytes');
    expect(result.errors![0]!.message).toContain('has 999 bytes, not the 1000 declared');
    expect((await h.db.http.execute(sql`select 1 ${ofResized}`)).rows).toHaveLength(0);
    expect(await store.head(row.object_key)).toBeNull();
  });

  it('discards binaries whose upload was abandoned for a day, and no others', async () => {
    const versionId = await newVersion('abandoned', '1.0.0');
    const binary = bytesOf(64, 5);
    const declare = (arch: string) =>
      ok<PlatformAnswer>(createPlatform, { input: { pluginVersionId: versionId, os: 'linux', arch, sha256: 'b'.repeat(64), sizeBytes: binary.length } });
    await declare('amd64');
    await declare('arm64');
    const ofAbandoned = sql`from plugin_platforms p join plugin_versions v on v.id = p.plugin_version_id join plugins g on g.id = v.plugin_id where g.name = 'abandoned'`;
    const old = (
      await h.db.http.execute<{ id: string; object_key: string; upload_id: string }>(
        sql`select p.id, p.object_key, p.upload_id ${ofAbandoned} and p.arch = 'amd64'`,
      )
    ).rows[0]!;
    await h.db.http.execute(sql`update plugin_platforms set created_at = now() - interval '25 hours' where id = ${old.id}`);
    const store = objectStoreFor(h.env, h.config);
    await store.uploadPart(old.object_key, old.upload_id, 1, binary);
    expect(await discardAbandonedPluginUploads(h.db.http, store, new Date())).toBeGreaterThanOrEqual(1);
    expect((await h.db.http.execute<{ arch: string }>(sql`select p.arch ${ofAbandoned}`)).rows).toEqual([{ arch: 'arm64' }]);
    // Its upload is gone: a part can no longer be added to it.
    await expect(store.uploadPart(old.object_key, old.upload_id, 1, binary)).rejects.toThrow();
    expect(scheduledTasks).toContain(abandonedPluginUploadsTask);
  });

  it('refuses a part of another size than signed, and a forged part URL', async () => {
    const versionId = await newVersion('strict', '1.0.0');
    const binary = bytesOf(1000, 1);
    const declared = await ok<PlatformAnswer>(createPlatform, {
      input: { pluginVersionId: versionId, os: 'darwin', arch: 'arm64', sha256: await hex(binary), sizeBytes: binary.length },
    });
    const url = new URL(declared.createPluginPlatform.uploadParts[0]!.url);
    const short = binary.slice(0, 999);
    const wrongSize = await h.request(`${url.pathname}${url.search}`, { method: 'PUT', body: short, headers: { 'content-length': '999' } });
    expect(wrongSize.status).toBe(400);
    expect(await wrongSize.text()).toContain('exactly 1000 bytes');
    const forged = new URL(url);
    forged.searchParams.set('size', '2000');
    const refused = await h.request(`${forged.pathname}${forged.search}`, { method: 'PUT', body: binary, headers: { 'content-length': '1000' } });
    expect(refused.status).toBe(403);
    // Completing without every part is refused and leaves the upload open.
    const incomplete = await h.gql(complete, { input: { id: declared.createPluginPlatform.pluginPlatform.id, parts: [] } }, { as: owner });
    expect(fieldOf(incomplete)).toBe('parts');
  });

  it('refuses bad input naming the field, duplicates, and unknown versions', async () => {
    const versionId = await newVersion('checked', '2.0.0-rc.1');
    const cases: [Record<string, unknown>, string][] = [
      [{ os: 'Linux!', arch: 'amd64', sha256: 'a'.repeat(64), sizeBytes: 1 }, 'os'],
      [{ os: 'linux', arch: 'amd64', sha256: 'xyz', sizeBytes: 1 }, 'sha256'],
      [{ os: 'linux', arch: 'amd64', sha256: 'a'.repeat(64), sizeBytes: 0 }, 'sizeBytes'],
      [{ os: 'linux', arch: 'amd64', sha256: 'a'.repeat(64), sizeBytes: 10, partSizeBytes: 1024 }, 'partSizeBytes'],
    ];
    for (const [input, field] of cases) {
      const result = await h.gql(createPlatform, { input: { pluginVersionId: versionId, ...input } }, { as: owner });
      expect(codeOf(result), JSON.stringify(input)).toBe('BAD_USER_INPUT');
      expect(fieldOf(result)).toBe(field);
    }
    const pluginId = globalId('Plugin', (await h.db.http.execute<{ id: string }>(sql`select id from plugins where name = 'checked'`)).rows[0]!.id);
    const versionMutation = 'mutation($input: CreatePluginVersionInput!) { createPluginVersion(input: $input) { pluginVersion { id } } }';
    const duplicate = await h.gql(versionMutation, { input: { pluginId, version: '2.0.0-rc.1' } }, { as: owner });
    expect(codeOf(duplicate)).toBe('CONFLICT');
    const notSemver = await h.gql(versionMutation, { input: { pluginId, version: '1.0' } }, { as: owner });
    expect(fieldOf(notSemver)).toBe('version');
    const pluginMutation = 'mutation($input: CreatePluginInput!) { createPlugin(input: $input) { plugin { id } } }';
    const sameName = await h.gql(pluginMutation, { input: { organizationId: globalId('Organization', organizationId), name: 'checked' } }, { as: owner });
    expect(codeOf(sameName)).toBe('CONFLICT');
    const badName = await h.gql(pluginMutation, { input: { organizationId: globalId('Organization', organizationId), name: 'Bad_Name' } }, { as: owner });
    expect(fieldOf(badName)).toBe('name');
  });
});

describe('who may see and publish', () => {
  it('lets viewers see plugins but not publish them', async () => {
    const result = await h.gql(
      'mutation($input: CreatePluginInput!) { createPlugin(input: $input) { plugin { id } } }',
      { input: { organizationId: globalId('Organization', organizationId), name: 'by-viewer' } },
      { as: viewer },
    );
    expect(codeOf(result)).toBe('FORBIDDEN');
    const versionId = await newVersion('viewer-target', '1.0.0');
    const platform = await h.gql(
      createPlatform,
      { input: { pluginVersionId: versionId, os: 'linux', arch: 'amd64', sha256: 'a'.repeat(64), sizeBytes: 5 } },
      { as: viewer },
    );
    expect(codeOf(platform)).toBe('FORBIDDEN');
  });

  it("hides an organization's plugins from another organization's members", async () => {
    const listed = await h.gql('query { organization(name: "plugin-org") { plugins { name } } }', {}, { as: outsider });
    expect(listed.data?.organization ?? null).toBeNull();
    const byPrn = await h.gql<{ node: unknown }>('query { node(id: "prn:plugin:plugin-org/deployer") { id } }', {}, { as: outsider });
    expect(byPrn.data?.node).toBeNull();
    const versionId = await newVersion('private-one', '1.0.0');
    const platform = await h.gql(
      createPlatform,
      { input: { pluginVersionId: versionId, os: 'linux', arch: 'amd64', sha256: 'a'.repeat(64), sizeBytes: 5 } },
      { as: outsider },
    );
    expect(codeOf(platform)).toBe('NOT_FOUND');
  });
});
