import { describe, expect, it } from 'vitest';
import { ensureInternalAgents, internalAgentSpecs } from '../../scripts/local-stack/internal-agents';
import { loadConfig } from '../../src/config/load';
import { createTestDatabase } from '../support/node-database';

const configOf = (env: Record<string, string>) => loadConfig({ PHOBOS_JWS_PROVIDER_PLUGIN_DATA_KEY_ENCRYPTION_KEY: 'k', ...env });

describe('internal agents from PHOBOS_INTERNAL_AGENTS_<n>_*', () => {
  it('default to one local agent when none is declared', () => {
    expect(internalAgentSpecs(configOf({}))).toEqual([{ name: 'local', dispatcherType: 'local', dispatcherData: {} }]);
  });

  it('read the declared agents with their dispatcher data under lower-case keys', () => {
    const specs = internalAgentSpecs(
      configOf({
        PHOBOS_INTERNAL_AGENTS_0_NAME: 'builder',
        PHOBOS_INTERNAL_AGENTS_0_JOB_DISPATCHER_TYPE: 'docker',
        PHOBOS_INTERNAL_AGENTS_0_JOB_DISPATCHER_DATA_IMAGE: 'phobos-job-executor:local',
        PHOBOS_INTERNAL_AGENTS_0_JOB_DISPATCHER_DATA_MEMORY_LIMIT: '512m',
        PHOBOS_INTERNAL_AGENTS_1_NAME: 'runner',
        PHOBOS_INTERNAL_AGENTS_1_JOB_DISPATCHER_TYPE: 'local',
      }),
    );
    expect(specs).toEqual([
      { name: 'builder', dispatcherType: 'docker', dispatcherData: { image: 'phobos-job-executor:local', memory_limit: '512m' } },
      { name: 'runner', dispatcherType: 'local', dispatcherData: {} },
    ]);
  });

  it('refuse a name an agent cannot have, naming the variable', () => {
    const config = configOf({ PHOBOS_INTERNAL_AGENTS_2_NAME: 'Bad Name', PHOBOS_INTERNAL_AGENTS_2_JOB_DISPATCHER_TYPE: 'local' });
    expect(() => internalAgentSpecs(config)).toThrow(/PHOBOS_INTERNAL_AGENTS_2_NAME: an agent name is/);
  });

  it('refuse two agents of one name', () => {
    const config = configOf({
      PHOBOS_INTERNAL_AGENTS_0_NAME: 'twin',
      PHOBOS_INTERNAL_AGENTS_0_JOB_DISPATCHER_TYPE: 'local',
      PHOBOS_INTERNAL_AGENTS_1_NAME: 'twin',
      PHOBOS_INTERNAL_AGENTS_1_JOB_DISPATCHER_TYPE: 'local',
    });
    expect(() => internalAgentSpecs(config)).toThrow(/PHOBOS_INTERNAL_AGENTS_1_NAME: another internal agent is already named 'twin'/);
  });

  it('are kept in step with the configuration: created, kept, disabled when dropped, re-enabled when declared again', async () => {
    const database = await createTestDatabase();
    const local = { name: 'local', dispatcherType: 'local' as const, dispatcherData: {} };
    const docker = { name: 'builder', dispatcherType: 'docker' as const, dispatcherData: {} };
    await database.query(`insert into agents (name, internal) values ('hand-made', false)`);

    const first = await ensureInternalAgents(database.url, [local, docker]);
    const again = await ensureInternalAgents(database.url, [local, docker]);
    expect(again).toEqual(first);

    await ensureInternalAgents(database.url, [local]);
    const rows = async () =>
      (
        await database.query<{ name: string; internal: boolean; disabled: boolean; organization_id: string | null }>(
          'select name, internal, disabled, organization_id from agents order by name',
        )
      ).rows;
    expect(await rows()).toEqual([
      { name: 'builder', internal: true, disabled: true, organization_id: null },
      { name: 'hand-made', internal: false, disabled: false, organization_id: null },
      { name: 'local', internal: true, disabled: false, organization_id: null },
    ]);

    const back = await ensureInternalAgents(database.url, [local, docker]);
    expect(back.get('builder')).toBe(first.get('builder'));
    expect((await rows()).find((row) => row.name === 'builder')).toMatchObject({ internal: true, disabled: false });
  });
});
