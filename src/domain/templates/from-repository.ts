// A pipeline template version read from a file in a repository, through a VCS provider the project
// can use (its organization's, or the project's own). The file then goes through everything an
// upload does (size limit, compile, approval rules, object store, row), recorded with `source = vcs`
// and where it came from, so the version stays what it was when the branch moves on.
import type { Caller } from '../../auth/rbac';
import { authorize } from '../../auth/rbac';
import type { PhobosConfig } from '../../config/load';
import type { HttpDatabase } from '../../db/client';
import { notFound } from '../../errors';
import { loadProjectPath } from '../environments/service';
import { isUuid } from '../ids';
import { vcsAccessToken } from '../vcs-providers/access-token';
import { loadProvider } from '../vcs-providers/records';
import { readRepositoryFile, validateRepositoryFile } from './repository-file';
import { storePipelineTemplate, type PipelineTemplateView, type TemplateLimits, type TemplateStore } from './service';

export interface CreatePipelineTemplateFromVcsInput {
  projectId: string;
  name: string;
  /** Without one the template is unversioned (a one-off). */
  semanticVersion?: string;
  vcsProviderId: string;
  /** `owner/repository` on GitHub, `group/project` on GitLab. */
  repository: string;
  /** Branch, tag or commit. */
  ref: string;
  /** Path of the HCL file in the repository. */
  path: string;
}

export async function createPipelineTemplateFromVcs(
  db: HttpDatabase,
  store: TemplateStore,
  config: PhobosConfig,
  caller: Caller,
  limits: TemplateLimits,
  input: CreatePipelineTemplateFromVcsInput,
): Promise<PipelineTemplateView> {
  const project = await loadProjectPath(db, input.projectId);
  authorize(caller, 'pipeline_template:manage', { organizationId: project.organizationId, projectId: project.id });
  if (!isUuid(input.vcsProviderId)) throw notFound('VCS provider');
  const provider = await loadProvider(db, input.vcsProviderId);
  // Another organization's or another project's provider is not this project's to use.
  if (provider.organizationId !== project.organizationId || (provider.projectId !== null && provider.projectId !== project.id)) throw notFound('VCS provider');
  const file = validateRepositoryFile(provider.type, input);
  const token = await vcsAccessToken(db, config, provider.id);
  const hclData = await readRepositoryFile(provider.type, provider.apiUrl, token, file, limits.maxUploadBytes);
  return storePipelineTemplate(
    db,
    store,
    caller,
    limits,
    { projectId: project.id, name: input.name, versioned: input.semanticVersion !== undefined, semanticVersion: input.semanticVersion, hclData },
    { source: 'vcs', sourceDetails: { vcsProviderId: provider.id, repository: file.repository, ref: file.ref, path: file.path } },
  );
}
