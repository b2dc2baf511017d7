// Projects, as the Phobos API exposes them:
//   query { project(id: "...") { id name description organization { name } } }
//   query { project(id: "...") { viewerPermissions } }   (what the caller may do there)
//   query { organization(name: "acme") { projects { id name } } }
//   mutation { createProject(input: { organizationId: "...", name: "app" }) { project { id } } }
//   mutation { updateProject(input: { id: "prn:project:acme/app", description: "...", metadata: { version: "2" } }) { project { id } } }
//   mutation { deleteProject(input: { id: "...", metadata: { version: "3" } }) { project { id } } }
// Who may see and change them is decided in the domain service.
import { permissionsHeld } from '../../auth/rbac';
import {
  createProject,
  deleteProject,
  getProject,
  listProjects,
  projectIdsByPath,
  projectPrn,
  projectsByIds,
  updateProject,
} from '../../domain/projects/service';
import { builder } from '../builder';
import type { GraphQLContext } from '../context';
import { parseVersion, ResourceMetadata, ResourceMetadataInput } from '../metadata';
import { acceptPrns } from '../prns';
import { OrganizationNode } from './organizations';

export const ProjectNode = builder.loadableNode('Project', {
  description: 'A project of an organization.',
  id: { resolve: (project) => project.id },
  // Every lookup of a request in one query; projects the caller may not see are simply not found.
  load: async (ids: string[], context: GraphQLContext) => projectsByIds(context.db.http, await context.caller(), ids),
  sort: (project) => project.id,
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    metadata: t.field({ type: ResourceMetadata, resolve: (project) => ({ ...project, prn: projectPrn(project) }) }),
    organization: t.field({ type: OrganizationNode, resolve: (project) => project.organizationId }),
    viewerPermissions: t.stringList({
      description:
        "The permissions (`resource:action`) the caller holds in the project (its organization's roles included), as authorization decides them. For clients to hide what the caller may not do: the API enforces it regardless.",
      resolve: async (project, _args, context) => permissionsHeld(await context.caller(), { organizationId: project.organizationId, projectId: project.id }),
    }),
    templateMaxUploadBytes: t.int({
      description:
        'The most bytes a pipeline template or release lifecycle may have (PHOBOS_TEMPLATE_MAX_UPLOAD_SIZE), so a client can refuse a larger one before sending it.',
      resolve: (_project, _args, context) => context.config.server.templateMaxUploadSize,
    }),
  }),
});

builder.objectField(OrganizationNode, 'projects', (t) =>
  t.field({
    type: [ProjectNode],
    description: "The organization's projects the caller may see, by name (a project-only member sees their own).",
    resolve: async (organization, _args, context) => listProjects(context.db.http, await context.caller(), organization.id),
  }),
);

acceptPrns('project', 'Project', projectIdsByPath);

builder.queryField('project', (t) =>
  t.field({
    type: ProjectNode,
    description: 'One project, by its global id.',
    args: { id: t.arg.globalID({ for: ProjectNode, required: true }) },
    resolve: async (_root, { id }, context) => getProject(context.db.http, await context.caller(), id.id),
  }),
);

builder.relayMutationField(
  'createProject',
  {
    name: 'CreateProjectInput',
    inputFields: (t) => ({
      organizationId: t.globalID({ for: OrganizationNode, required: true }),
      name: t.string({ required: true }),
      description: t.string(),
    }),
  },
  {
    description: 'Creates a project in an organization.',
    resolve: async (_root, { input }, context) => ({
      project: await createProject(context.db.http, await context.caller(), {
        organizationId: input.organizationId.id,
        name: input.name,
        description: input.description ?? undefined,
      }),
    }),
  },
  {
    name: 'CreateProjectPayload',
    outputFields: (t) => ({
      project: t.field({ type: ProjectNode, resolve: (payload) => payload.project }),
    }),
  },
);

builder.relayMutationField(
  'updateProject',
  {
    name: 'UpdateProjectInput',
    inputFields: (t) => ({
      id: t.globalID({ for: ProjectNode, required: true }),
      description: t.string(),
      metadata: t.field({ type: ResourceMetadataInput }),
    }),
  },
  {
    description: "Changes a project's description.",
    resolve: async (_root, { input }, context) => ({
      project: await updateProject(context.db.http, await context.caller(), input.id.id, {
        description: input.description ?? undefined,
        version: parseVersion(input.metadata),
      }),
    }),
  },
  {
    name: 'UpdateProjectPayload',
    outputFields: (t) => ({
      project: t.field({ type: ProjectNode, resolve: (payload) => payload.project }),
    }),
  },
);

builder.relayMutationField(
  'deleteProject',
  {
    name: 'DeleteProjectInput',
    inputFields: (t) => ({
      id: t.globalID({ for: ProjectNode, required: true }),
      metadata: t.field({ type: ResourceMetadataInput }),
    }),
  },
  {
    description: 'Deletes a project.',
    resolve: async (_root, { input }, context) => ({
      project: await deleteProject(context.db.http, await context.caller(), input.id.id, { version: parseVersion(input.metadata) }),
    }),
  },
  {
    name: 'DeleteProjectPayload',
    outputFields: (t) => ({
      project: t.field({ type: ProjectNode, resolve: (payload) => payload.project }),
    }),
  },
);
