// Resolving a template's `plugin_requirements` for a job, when its executor fetches the job: for
// each requirement the newest uploaded version of the plugin that meets the version constraint, and
// that version's binary for the executor's OS and architecture, handed over as a short-lived
// download URL with its SHA-256 (the executor verifies it). Sources name a plugin of the pipeline's
// own organization: `<organization>/<name>`, optionally after this installation's host
// (`phobos.example.com/acme/echo`). What cannot be resolved is not an error here: the requirement
// carries a `problem`, and the job fails with it when one of its actions uses that plugin.
import { and, eq, inArray } from 'drizzle-orm';
import type { HttpDatabase } from '../../db/client';
import { pluginPlatforms, plugins, pluginVersions } from '../../db/schema';
import type { ObjectStore } from '../../platform/object-store/object-store';
import type { JobPlugin } from '../../protocol/agent-v1';
import { evaluateExpression, ExpressionError } from '../pipelines/expressions';
import type { TemplatePlugin, TemplatePluginRequirement } from '../templates/model';
import { sharedEvaluationBudget } from '../templates/hcl/evaluate';
import { newestMatching, parseConstraint } from './version-constraints';

/** How long a binary's download URL works: the executor downloads it at once. */
const downloadSeconds = 15 * 60;

export interface ResolveContext {
  db: HttpDatabase;
  store: ObjectStore;
  /** PHOBOS_API_URL: a source may name this installation's host. */
  apiUrl: string;
  organizationId: string;
  organizationName: string;
  /** Of the executor; null when it did not say (an older executor). */
  platform: { os: string; arch: string } | null;
  /** The pipeline's variables (plugin blocks may read `var.*`). */
  variables: Record<string, unknown>;
}

function sourceParts(source: string, apiUrl: string): { organization: string; name: string } | string {
  const parts = source.split('/');
  if (parts.length === 3) {
    const host = new URL(apiUrl).host;
    if (parts[0] !== host)
      return `source "${source}": plugins come from this installation's registry (${host}/<organization>/<name>, or <organization>/<name>)`;
    parts.shift();
  }
  if (parts.length !== 2 || !parts[0] || !parts[1]) return `source "${source}" must be "<organization>/<name>"`;
  return { organization: parts[0], name: parts[1] };
}

function pluginConfig(block: TemplatePlugin | undefined, variables: Record<string, unknown>): Record<string, unknown> | string {
  if (!block) return {};
  const budget = sharedEvaluationBudget(100_000);
  try {
    return Object.fromEntries(
      Object.entries(block.attributes).map(([name, expression]) => [name, evaluateExpression(expression, { var: variables, action_outputs: {} }, budget)]),
    );
  } catch (error) {
    if (error instanceof ExpressionError) return `plugin "${block.name}" block: ${error.message}`;
    throw error;
  }
}

export async function resolvePluginRequirements(
  context: ResolveContext,
  requirements: readonly TemplatePluginRequirement[],
  blocks: readonly TemplatePlugin[],
): Promise<JobPlugin[]> {
  if (requirements.length === 0) return [];
  const sources = new Map(requirements.map((requirement) => [requirement.name, sourceParts(requirement.source, context.apiUrl)]));
  const ownNames = [...sources.values()].flatMap((parts) => (typeof parts === 'string' || parts.organization !== context.organizationName ? [] : [parts.name]));
  const rows =
    ownNames.length === 0
      ? []
      : await context.db
          .select({
            pluginName: plugins.name,
            semanticVersion: pluginVersions.semanticVersion,
            os: pluginPlatforms.os,
            arch: pluginPlatforms.arch,
            sha256: pluginPlatforms.sha256,
            sizeBytes: pluginPlatforms.sizeBytes,
            signature: pluginPlatforms.signature,
            objectKey: pluginPlatforms.objectKey,
          })
          .from(pluginPlatforms)
          .innerJoin(pluginVersions, eq(pluginVersions.id, pluginPlatforms.pluginVersionId))
          .innerJoin(plugins, eq(plugins.id, pluginVersions.pluginId))
          .where(and(eq(plugins.organizationId, context.organizationId), inArray(plugins.name, ownNames), eq(pluginPlatforms.status, 'uploaded')));

  return Promise.all(
    requirements.map(async (requirement): Promise<JobPlugin> => {
      const unresolved = (problem: string): JobPlugin => ({
        name: requirement.name,
        source: requirement.source,
        version: null,
        sha256: null,
        sizeBytes: null,
        signature: null,
        url: null,
        config: {},
        problem: `plugin "${requirement.name}" (${requirement.source}${requirement.version ? ` ${requirement.version}` : ''}): ${problem}`,
      });
      const parts = sources.get(requirement.name)!;
      if (typeof parts === 'string') return unresolved(parts);
      if (parts.organization !== context.organizationName) {
        return unresolved(`no such plugin: a pipeline of organization "${context.organizationName}" uses its own organization's plugins`);
      }
      const ofPlugin = rows.filter((row) => row.pluginName === parts.name);
      if (ofPlugin.length === 0) return unresolved(`no plugin "${parts.name}" with an uploaded binary is published in organization "${parts.organization}"`);
      const conditions = requirement.version === null ? [] : parseConstraint(requirement.version);
      if (typeof conditions === 'string') return unresolved(conditions);
      const versions = [...new Set(ofPlugin.map((row) => row.semanticVersion))];
      const version = newestMatching(versions, conditions);
      if (!version) return unresolved(`no published version meets the constraint (published: ${versions.join(', ')})`);
      if (!context.platform) return unresolved('the executor did not say its OS and architecture');
      const { os, arch } = context.platform;
      const binary = ofPlugin.find((row) => row.semanticVersion === version && row.os === os && row.arch === arch);
      if (!binary) {
        const has = ofPlugin.filter((row) => row.semanticVersion === version).map((row) => `${row.os}/${row.arch}`);
        return unresolved(`version ${version} has no binary for ${os}/${arch} (it has ${has.join(', ')})`);
      }
      const config = pluginConfig(
        blocks.find((block) => block.name === requirement.name),
        context.variables,
      );
      if (typeof config === 'string') return unresolved(config);
      return {
        name: requirement.name,
        source: requirement.source,
        version,
        sha256: binary.sha256,
        sizeBytes: binary.sizeBytes,
        signature: binary.signature,
        url: await context.store.presignGet(binary.objectKey, downloadSeconds),
        config,
        problem: null,
      };
    }),
  );
}
