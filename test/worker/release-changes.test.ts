// What changes between two releases: templates per environment, variables (a changed secret by name
// only), assets by content, the lifecycle; and the refusals (another project's release, a release
// the caller cannot see).
import { beforeAll, describe, expect, it } from 'vitest';
import { releaseChanges } from '../../src/domain/releases/changes';
import { createRelease } from '../../src/domain/releases/service';
import { createProject } from '../../src/domain/projects/service';
import { uploadReleaseAsset } from '../../src/domain/releases/assets';
import { objectStoreFor } from '../../src/platform/object-store/select';
import type { AppError } from '../../src/errors';
import { storeTemplate, template } from '../support/pipeline-templates';
import { pipelineWorld, type PipelineWorld } from '../support/pipeline-world';

let w: PipelineWorld;
let first: string;
let second: string;

beforeAll(async () => {
  w = await pipelineWorld();
  const variables = [
    { name: 'region', type: 'string' as const },
    { name: 'replicas', type: 'number' as const, hasDefault: true, default: 1 },
    { name: 'token', type: 'string' as const, sensitive: true },
  ];
  const stages = [{ name: 'deploy', tasks: [{ name: 'go', actions: [{ alias: 'a' }] }] }];
  const [base, newer, prod] = await Promise.all([0, 1, 2].map(() => storeTemplate(w.db, w, template({ variables, stages }))));
  first = (
    await createRelease(w.db, w.config, w.admin, {
      projectId: w.projectId,
      semanticVersion: '1.0.0',
      pipelineTemplateId: base,
      environmentTemplates: [{ environmentName: 'prod', pipelineTemplateId: prod! }],
      variables: { region: 'eu', replicas: 2, token: 'old-secret' },
    })
  ).id;
  second = (
    await createRelease(w.db, w.config, w.admin, {
      projectId: w.projectId,
      semanticVersion: '1.1.0',
      pipelineTemplateId: newer,
      variables: { region: 'eu', token: 'new-secret' },
    })
  ).id;
  const store = objectStoreFor(w.h.env, w.h.config);
  const upload = (releaseId: string, name: string, text: string) =>
    uploadReleaseAsset(w.db, store, w.admin, { releaseId, name, contentType: 'text/plain', body: new Blob([text]).stream(), declaredSize: text.length });
  await upload(first, 'app.tar', 'v1');
  await upload(first, 'notes.txt', 'same');
  await upload(second, 'app.tar', 'v2');
  await upload(second, 'notes.txt', 'same');
  await upload(second, 'sbom.json', '{}');
});

describe('release changes', () => {
  it('lists the template, variable and asset differences, a secret by name only', async () => {
    const changes = await releaseChanges(w.db, w.config, w.viewer, { fromId: first, toId: second });
    expect(changes.templates.map((change) => change.environmentName)).toEqual([null, 'prod']);
    expect(changes.templates[1]).toMatchObject({ environmentName: 'prod', toTemplateId: null });
    expect(changes.variables).toEqual([
      { key: 'replicas', change: 'REMOVED', sensitive: false, from: '2', to: null },
      { key: 'token', change: 'CHANGED', sensitive: true, from: null, to: null },
    ]);
    expect(JSON.stringify(changes)).not.toContain('secret');
    expect(changes.assets.map((asset) => [asset.name, asset.change])).toEqual([
      ['app.tar', 'CHANGED'],
      ['sbom.json', 'ADDED'],
    ]);
    expect(changes.lifecycleChanged).toBe(false);
    // The other way round, additions become removals.
    const back = await releaseChanges(w.db, w.config, w.viewer, { fromId: second, toId: first });
    expect(back.assets.map((asset) => [asset.name, asset.change])).toEqual([
      ['app.tar', 'CHANGED'],
      ['sbom.json', 'REMOVED'],
    ]);
  });

  it('refuses releases of two projects, and hides releases from outsiders', async () => {
    const other = await createProject(w.db, w.admin, { organizationId: w.organizationId, name: 'other' });
    const elsewhere = (
      await createRelease(w.db, w.config, w.admin, {
        projectId: other.id,
        semanticVersion: '1.0.0',
        pipelineTemplateId: await storeTemplate(
          w.db,
          { organizationId: w.organizationId, projectId: other.id },
          template({ stages: [{ name: 's', tasks: [{ name: 't' }] }] }),
        ),
      })
    ).id;
    const refusal = (await releaseChanges(w.db, w.config, w.admin, { fromId: first, toId: elsewhere }).catch((error: AppError) => error)) as AppError;
    expect(refusal).toMatchObject({ code: 'BAD_USER_INPUT', options: { field: 'toId' } });
    const hidden = (await releaseChanges(w.db, w.config, w.outsider, { fromId: first, toId: second }).catch((error: AppError) => error)) as AppError;
    expect(hidden.code).toBe('NOT_FOUND');
  });
});
