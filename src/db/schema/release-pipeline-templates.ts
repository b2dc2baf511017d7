import { pgTable, primaryKey, uuid } from 'drizzle-orm/pg-core';
import { pipelineTemplates } from './pipeline-templates';
import { releases } from './releases';

/**
 * Every pipeline template version a release deploys with (its default one and its per-environment
 * ones), one row each: the foreign key keeps a template from being deleted while a release needs it
 * (the release's own columns say which environment uses which).
 */
export const releasePipelineTemplates = pgTable(
  'release_pipeline_templates',
  {
    releaseId: uuid('release_id')
      .notNull()
      .references(() => releases.id, { onDelete: 'cascade' }),
    pipelineTemplateId: uuid('pipeline_template_id')
      .notNull()
      .references(() => pipelineTemplates.id, { onDelete: 'restrict' }),
  },
  (table) => [primaryKey({ columns: [table.releaseId, table.pipelineTemplateId] })],
);
