import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unstable_readConfig } from 'wrangler';
import { describe, expect, it } from 'vitest';
import { declaresHyperdrive } from '../../scripts/deploy/database';

const unified = unstable_readConfig({ config: 'wrangler.toml' });
const apiOnly = unstable_readConfig({ config: 'wrangler.noui.toml' });

describe('wrangler configuration', () => {
  it('declares the Durable Objects with SQLite migrations, R2, cron and assets', () => {
    expect(unified.main).toMatch(/src\/worker\.ts$/);
    expect(unified.durable_objects.bindings.map((binding: { name: string; class_name: string }) => [binding.name, binding.class_name])).toEqual([
      ['AGENT_QUEUE', 'AgentQueue'],
      ['JOB_LOG', 'JobLog'],
      ['RATE_LIMITER', 'RateLimiter'],
      ['PROJECT_EVENT_HUB', 'ProjectEventHub'],
      ['PIPELINE_TREE', 'PipelineTree'],
    ]);
    expect(unified.migrations).toEqual([
      { tag: 'v1', new_sqlite_classes: ['AgentQueue', 'JobLog', 'RateLimiter'] },
      { tag: 'v2', new_sqlite_classes: ['ProjectEventHub'] },
      { tag: 'v3', new_sqlite_classes: ['PipelineTree'] },
    ]);
    expect(unified.r2_buckets.map((bucket: { binding: string }) => bucket.binding)).toEqual(['OBJECTS']);
    expect(unified.triggers.crons?.length).toBeGreaterThan(0);
    expect(unified.assets?.directory).toMatch(/web\/dist$/);
    // Signed object downloads are served by the Worker, never the console's index.html.
    expect(unified.assets?.run_worker_first).toContain('/objects/*');
  });

  it('has an API-only (noui) build with the same Worker and bindings but no assets', () => {
    expect(apiOnly.assets).toBeUndefined();
    expect(apiOnly.main).toBe(unified.main);
    expect(apiOnly.compatibility_date).toBe(unified.compatibility_date);
    // The agent long poll hands back what a client that went away was leased (src/agent-api/routes.ts).
    expect(unified.compatibility_flags).toContain('enable_request_signal');
    expect(apiOnly.compatibility_flags).toEqual(unified.compatibility_flags);
    expect(apiOnly.durable_objects).toEqual(unified.durable_objects);
    expect(apiOnly.migrations).toEqual(unified.migrations);
    expect(apiOnly.r2_buckets).toEqual(unified.r2_buckets);
    expect(apiOnly.triggers).toEqual(unified.triggers);
    expect(apiOnly.hyperdrive).toEqual(unified.hyperdrive);
  });

  it('ships the Hyperdrive binding as a commented example, the same in both builds, that binds HYPERDRIVE once uncommented', () => {
    const example = (file: string) => readFileSync(file, 'utf8').match(/^# \[\[hyperdrive\]\]\n(?:# .*\n)+/m)?.[0];
    expect(example('wrangler.toml')).toBeDefined();
    expect(example('wrangler.noui.toml')).toBe(example('wrangler.toml'));
    expect(declaresHyperdrive('wrangler.toml')).toBe(false);
    expect(declaresHyperdrive('wrangler.noui.toml')).toBe(false);

    const text = readFileSync('wrangler.noui.toml', 'utf8');
    const uncommented = text.replace(example('wrangler.noui.toml')!, example('wrangler.noui.toml')!.replaceAll(/^# /gm, ''));
    const path = join(mkdtempSync(join(tmpdir(), 'phobos-wrangler-')), 'wrangler.toml');
    writeFileSync(path, uncommented);
    expect(unstable_readConfig({ config: path }).hyperdrive).toEqual([
      expect.objectContaining({ binding: 'HYPERDRIVE', localConnectionString: expect.stringMatching(/^postgresql:\/\/\w+:\w+@/) }),
    ]);
    expect(declaresHyperdrive(path)).toBe(true);
  });
});
