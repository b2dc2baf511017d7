// Authorization rows of releases: created, changed and given participants and assets with
// release:manage (owners, release managers); commented on with release:comment (developers and up);
// read with release:view (every built-in role); redeployed with pipeline:execute (developers and up). A comment is edited or deleted by its author alone:
// here the system admin wrote it, so everyone else who may comment is FORBIDDEN.
import { createEnvironment } from '../../../src/domain/environments/service';
import { uploadReleaseAsset } from '../../../src/domain/releases/assets';
import { createReleaseComment } from '../../../src/domain/releases/comments';
import { addReleaseParticipant } from '../../../src/domain/releases/participants';
import { createRelease } from '../../../src/domain/releases/service';
import { createPipelineTemplate } from '../../../src/domain/templates/service';
import { objectStoreFor } from '../../../src/platform/object-store/select';
import { globalId } from '../../support/graphql';
import { adminCaller, graphqlOutcome, h, headersOf, inTenant, seeTenant, tenant, unique, users, type Actor, type Outcome, type Row } from './world';

const managers = inTenant(['admin', 'owner', 'release_manager', 'scoped_key_in']);
const commenters = inTenant(['admin', 'owner', 'release_manager', 'developer', 'project_developer', 'scoped_key_in']);
const runners = inTenant(['admin', 'owner', 'release_manager', 'developer', 'project_developer', 'scoped_key_in']);
const readers = inTenant(seeTenant.filter((actor) => actor !== 'project_viewer_role'));
const hclData = 'stage "deploy" {\n  task "go" {\n    action "exec_command" {\n      command = "true"\n    }\n  }\n}\n';

let template: Promise<string> | undefined;

async function newRelease(): Promise<string> {
  template ??= createPipelineTemplate(
    h.db.http,
    objectStoreFor(h.env, h.config),
    adminCaller,
    { maxUploadBytes: h.config.server.templateMaxUploadSize },
    { projectId: tenant.projectId, name: unique('release-template'), versioned: true, semanticVersion: '1.0.0', hclData },
  ).then((created) => created.id);
  const release = await createRelease(h.db.http, h.config, adminCaller, {
    projectId: tenant.projectId,
    semanticVersion: `1.0.${unique('x').split('-')[1]}`,
    pipelineTemplateId: await template,
  });
  return release.id;
}

let shared: Promise<string> | undefined;
export const sharedRelease = () => (shared ??= newRelease());

let redeployEnvironment: Promise<string> | undefined;
const redeployTarget = () =>
  (redeployEnvironment ??= createEnvironment(h.db.http, adminCaller, { projectId: tenant.projectId, name: unique('redeploy') }).then((e) => e.name));

const adminComment = async () => (await createReleaseComment(h.db.http, adminCaller, { releaseId: await sharedRelease(), text: 'by the admin' })).id;

export const graphqlRows: Record<string, Row> = {
  'Query.release': {
    run: async (a) => graphqlOutcome(a, 'query($id: ID!) { release(id: $id) { id } }', { id: globalId('Release', await sharedRelease()) }),
    expected: readers,
  },
  'Query.releaseChanges': {
    run: async (a) => {
      const [from, to] = await Promise.all([sharedRelease(), newRelease()]);
      return graphqlOutcome(a, 'query($from: ID!, $to: ID!) { releaseChanges(from: $from, to: $to) { lifecycleChanged } }', {
        from: globalId('Release', from),
        to: globalId('Release', to),
      });
    },
    expected: readers,
  },
  'Mutation.createRelease': {
    run: async (a) => {
      await sharedRelease();
      return graphqlOutcome(a, 'mutation($input: CreateReleaseInput!) { createRelease(input: $input) { release { id } } }', {
        input: {
          projectId: globalId('Project', tenant.projectId),
          semanticVersion: `2.0.${unique('v').split('-')[1]}`,
          pipelineTemplateId: globalId('PipelineTemplate', await template!),
        },
      });
    },
    expected: managers,
  },
  'Mutation.updateRelease': {
    run: async (a) =>
      graphqlOutcome(a, 'mutation($input: UpdateReleaseInput!) { updateRelease(input: $input) { release { id } } }', {
        input: { id: globalId('Release', await sharedRelease()), notes: unique('notes') },
      }),
    expected: managers,
  },
  'Mutation.deleteRelease': {
    run: async (a) =>
      graphqlOutcome(a, 'mutation($input: DeleteReleaseInput!) { deleteRelease(input: $input) { release { id } } }', {
        input: { id: globalId('Release', await newRelease()) },
      }),
    expected: managers,
  },
  'Mutation.redeployRelease': {
    run: async (a) =>
      graphqlOutcome(a, 'mutation($input: RedeployReleaseInput!) { redeployRelease(input: $input) { pipeline { id } } }', {
        input: { releaseId: globalId('Release', await sharedRelease()), environmentName: await redeployTarget() },
      }),
    expected: runners,
  },
  'Mutation.addReleaseParticipant': {
    run: async (a) =>
      graphqlOutcome(a, 'mutation($input: AddReleaseParticipantInput!) { addReleaseParticipant(input: $input) { participant { name } } }', {
        input: { releaseId: globalId('Release', await newRelease()), userId: globalId('User', users.viewer.id) },
      }),
    expected: managers,
  },
  'Mutation.removeReleaseParticipant': {
    run: async (a) => {
      const releaseId = await newRelease();
      await addReleaseParticipant(h.db.http, adminCaller, { releaseId, userId: users.viewer.id });
      return graphqlOutcome(a, 'mutation($input: RemoveReleaseParticipantInput!) { removeReleaseParticipant(input: $input) { participant { name } } }', {
        input: { releaseId: globalId('Release', releaseId), userId: globalId('User', users.viewer.id) },
      });
    },
    expected: managers,
  },
  'Mutation.createReleaseComment': {
    run: async (a) =>
      graphqlOutcome(a, 'mutation($input: CreateReleaseCommentInput!) { createReleaseComment(input: $input) { comment { id } } }', {
        input: { releaseId: globalId('Release', await sharedRelease()), text: 'hello' },
      }),
    expected: commenters,
  },
  'Mutation.updateReleaseComment': {
    run: async (a) =>
      graphqlOutcome(a, 'mutation($input: UpdateReleaseCommentInput!) { updateReleaseComment(input: $input) { comment { id } } }', {
        input: { id: globalId('ReleaseComment', await adminComment()), text: 'edited' },
      }),
    expected: inTenant(['admin']),
  },
  'Mutation.deleteReleaseComment': {
    run: async (a) =>
      graphqlOutcome(a, 'mutation($input: DeleteReleaseCommentInput!) { deleteReleaseComment(input: $input) { comment { id } } }', {
        input: { id: globalId('ReleaseComment', await adminComment()) },
      }),
    expected: inTenant(['admin']),
  },
  'Mutation.deleteReleaseAsset': {
    run: async (a) => {
      const releaseId = await sharedRelease();
      const name = unique('asset');
      await uploadReleaseAsset(h.db.http, objectStoreFor(h.env, h.config), adminCaller, { releaseId, name, body: new Blob(['bytes']).stream() });
      return graphqlOutcome(a, 'mutation($input: DeleteReleaseAssetInput!) { deleteReleaseAsset(input: $input) { asset { name } } }', {
        input: { releaseId: globalId('Release', releaseId), name },
      });
    },
    expected: managers,
  },
};

async function uploadOutcome(actor: Actor): Promise<Outcome> {
  const response = await h.request(`/api/v1/releases/${await sharedRelease()}/assets/${unique('asset')}`, {
    method: 'PUT',
    headers: headersOf(actor),
    body: 'bytes',
  });
  await response.body?.cancel();
  const byStatus: Record<number, Outcome> = { 201: 'ok', 401: 'UNAUTHENTICATED', 403: 'FORBIDDEN', 404: 'NOT_FOUND' };
  return byStatus[response.status] ?? `status ${response.status}`;
}

export const restRows: Record<string, Row> = {
  'PUT /api/v1/releases/:releaseId/assets/:name': { run: uploadOutcome, expected: managers },
};
