// What changes between two releases of a project: the template versions each environment deploys
// with, the variables, the assets, and the lifecycle — what a reviewer reads before promoting or
// rolling back. Sensitive values are compared (opened here) but never shown: a changed secret is
// reported by name only.
import { asc, inArray } from 'drizzle-orm';
import type { Caller } from '../../auth/rbac';
import type { HttpDatabase } from '../../db/client';
import { releaseAssets, releases } from '../../db/schema';
import { badInput } from '../../errors';
import type { EngineConfig } from '../pipelines/secrets';
import { loadRelease, releaseVariableValues } from './service';

export interface TemplateChange {
  /** An environment name, or null for the template every other environment deploys with. */
  environmentName: string | null;
  fromTemplateId: string | null;
  toTemplateId: string | null;
}

export interface VariableChange {
  key: string;
  change: 'ADDED' | 'REMOVED' | 'CHANGED';
  sensitive: boolean;
  /** JSON of the values; null for a sensitive variable, and on the side where it is absent. */
  from: string | null;
  to: string | null;
}

export interface AssetChange {
  name: string;
  change: 'ADDED' | 'REMOVED' | 'CHANGED';
  fromSha256: string | null;
  toSha256: string | null;
}

export interface ReleaseChanges {
  fromReleaseId: string;
  toReleaseId: string;
  templates: TemplateChange[];
  variables: VariableChange[];
  assets: AssetChange[];
  lifecycleChanged: boolean;
}

const sorted = (keys: Iterable<string>) => [...new Set(keys)].sort();

function templateChanges(from: typeof releases.$inferSelect, to: typeof releases.$inferSelect): TemplateChange[] {
  const changes: TemplateChange[] = [];
  if (from.pipelineTemplateId !== to.pipelineTemplateId) {
    changes.push({ environmentName: null, fromTemplateId: from.pipelineTemplateId, toTemplateId: to.pipelineTemplateId });
  }
  for (const environmentName of sorted([...Object.keys(from.environmentTemplates), ...Object.keys(to.environmentTemplates)])) {
    const before = from.environmentTemplates[environmentName] ?? null;
    const after = to.environmentTemplates[environmentName] ?? null;
    if (before !== after) changes.push({ environmentName, fromTemplateId: before, toTemplateId: after });
  }
  return changes;
}

function variableChanges(
  from: { values: Record<string, unknown>; sensitive: string[] },
  to: { values: Record<string, unknown>; sensitive: string[] },
): VariableChange[] {
  const changes: VariableChange[] = [];
  for (const key of sorted([...Object.keys(from.values), ...Object.keys(to.values)])) {
    const sensitive = from.sensitive.includes(key) || to.sensitive.includes(key);
    const had = Object.hasOwn(from.values, key);
    const has = Object.hasOwn(to.values, key);
    const before = had ? JSON.stringify(from.values[key]) : null;
    const after = has ? JSON.stringify(to.values[key]) : null;
    if (before === after) continue;
    changes.push({
      key,
      change: !had ? 'ADDED' : !has ? 'REMOVED' : 'CHANGED',
      sensitive,
      from: sensitive ? null : before,
      to: sensitive ? null : after,
    });
  }
  return changes;
}

function assetChanges(from: Map<string, string>, to: Map<string, string>): AssetChange[] {
  const changes: AssetChange[] = [];
  for (const name of sorted([...from.keys(), ...to.keys()])) {
    const before = from.get(name) ?? null;
    const after = to.get(name) ?? null;
    if (before === after) continue;
    changes.push({ name, change: before === null ? 'ADDED' : after === null ? 'REMOVED' : 'CHANGED', fromSha256: before, toSha256: after });
  }
  return changes;
}

/** What changes from release `fromId` to release `toId` (both of one project, both visible to the caller). */
export async function releaseChanges(db: HttpDatabase, config: EngineConfig, caller: Caller, input: { fromId: string; toId: string }): Promise<ReleaseChanges> {
  const [{ release: from }, { release: to }] = await Promise.all([loadRelease(db, caller, input.fromId), loadRelease(db, caller, input.toId)]);
  if (from.projectId !== to.projectId) throw badInput('toId', 'must be a release of the same project as fromId');
  const [rows, assets] = await Promise.all([
    db
      .select()
      .from(releases)
      .where(inArray(releases.id, [from.id, to.id])),
    db
      .select({ releaseId: releaseAssets.releaseId, name: releaseAssets.name, sha256: releaseAssets.sha256 })
      .from(releaseAssets)
      .where(inArray(releaseAssets.releaseId, [from.id, to.id]))
      .orderBy(asc(releaseAssets.name)),
  ]);
  const row = (id: string) => rows.find((candidate) => candidate.id === id)!;
  const [fromValues, toValues] = await Promise.all([releaseVariableValues(config, row(from.id)), releaseVariableValues(config, row(to.id))]);
  const assetsOf = (id: string) => new Map(assets.filter((asset) => asset.releaseId === id).map((asset) => [asset.name, asset.sha256]));
  return {
    fromReleaseId: from.id,
    toReleaseId: to.id,
    templates: templateChanges(row(from.id), row(to.id)),
    variables: variableChanges({ values: fromValues, sensitive: from.sensitiveVariableNames }, { values: toValues, sensitive: to.sensitiveVariableNames }),
    assets: assetChanges(assetsOf(from.id), assetsOf(to.id)),
    lifecycleChanged: (from.lifecycleId ?? null) !== (to.lifecycleId ?? null) || JSON.stringify(from.lifecycle) !== JSON.stringify(to.lifecycle),
  };
}
