import { sql } from 'drizzle-orm';
import { boolean, index, integer, jsonb, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import type { PipelineTemplate as CompiledPipelineTemplate } from '../../domain/templates/model';
import { createdAt, id, updatedAt, version } from './columns';
import { organizations } from './organizations';
import { projects } from './projects';

export const pipelineTemplateSources = ['upload', 'vcs'] as const;

/**
 * A pipeline template version of a project. Immutable once created (only `latest` moves): the HCL
 * body lives in the object store under `object_key`, its SHA-256 and size here, and the compiled
 * template (the validated model the engine builds pipelines from) in `compiled`, so creating a
 * pipeline never reads the object store or parses HCL again. A versioned template has a semantic
 * version, unique per (project, name); an unversioned one (a one-off) has none.
 */
export const pipelineTemplates = pgTable(
  'pipeline_templates',
  {
    id: id(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    versioned: boolean('versioned').notNull(),
    semanticVersion: text('semantic_version'),
    /** The newest semantic version of its (project, name); maintained on create and delete. */
    latest: boolean('latest').notNull().default(false),
    /** Hex SHA-256 of the HCL body as stored. */
    sha256: text('sha256').notNull(),
    sizeBytes: integer('size_bytes').notNull(),
    objectKey: text('object_key').notNull(),
    compiled: jsonb('compiled').$type<CompiledPipelineTemplate>().notNull(),
    source: text('source', { enum: pipelineTemplateSources }).notNull().default('upload'),
    /** For `vcs`: where it was read from: provider id, repository, ref, path. */
    sourceDetails: jsonb('source_details').$type<Record<string, string>>(),
    createdBy: text('created_by').notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    version: version(),
  },
  (table) => [
    uniqueIndex('pipeline_templates_version_key').on(table.projectId, table.name, table.semanticVersion).where(sql`semantic_version is not null`),
    index('pipeline_templates_project_idx').on(table.projectId, table.createdAt),
  ],
);

export type PipelineTemplateRow = typeof pipelineTemplates.$inferSelect;
