// Internal agents: the shared agents PHOBOS_INTERNAL_AGENTS_<n>_* declares, which the local stack
// runs beside the Worker as the Phobos API runs its internal agents. With none declared, one agent
// named `local` with the `local` dispatcher, so a newcomer's first pipeline runs with nothing else
// installed. Their rows are kept in step with the configuration on every start: declared ones are
// created or re-enabled (and marked internal, which the API refuses to edit), ones no longer declared
// are disabled, never deleted (their jobs' history points at them).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { internalAgentCredential } from '../../src/auth/internal-agent-credentials';
import type { PhobosConfig } from '../../src/config/load';
import { ConfigError } from '../../src/config/load';

export type DispatcherType = PhobosConfig['internalAgents'][number]['jobDispatcherType'];

export interface InternalAgentSpec {
  name: string;
  dispatcherType: DispatcherType;
  /** Dispatcher data with Phobos's lower-case keys (`..._JOB_DISPATCHER_DATA_IMAGE` → `image`). */
  dispatcherData: Record<string, string>;
}

const agentName = /^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$/;

/** The internal agents to run: the declared ones, or the default `local` agent. */
export function internalAgentSpecs(config: Pick<PhobosConfig, 'internalAgents'>): InternalAgentSpec[] {
  if (config.internalAgents.length === 0) return [{ name: 'local', dispatcherType: 'local', dispatcherData: {} }];
  const seen = new Set<string>();
  return config.internalAgents.map((agent) => {
    const variable = `PHOBOS_INTERNAL_AGENTS_${agent.index}_NAME`;
    if (!agentName.test(agent.name)) {
      throw new ConfigError([{ variable, message: 'an agent name is 1–64 lower-case letters, digits and hyphens, not starting or ending with a hyphen' }]);
    }
    if (seen.has(agent.name)) throw new ConfigError([{ variable, message: `another internal agent is already named '${agent.name}'` }]);
    seen.add(agent.name);
    return {
      name: agent.name,
      dispatcherType: agent.jobDispatcherType,
      dispatcherData: Object.fromEntries(Object.entries(agent.jobDispatcherData).map(([key, value]) => [key.toLowerCase(), value])),
    };
  });
}

/** Creates, re-enables and disables internal agent rows so they match `specs`; returns their ids by name. */
export async function ensureInternalAgents(connectionString: string, specs: InternalAgentSpec[]): Promise<Map<string, string>> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query('begin');
    const ids = new Map<string, string>();
    for (const spec of specs) {
      // A shared agent of the same name created through the API becomes internal: the configuration wins.
      const { rows } = await client.query<{ id: string }>(
        `insert into agents (name, description, internal, run_untagged_jobs)
         values ($1, $2, true, true)
         on conflict (name) where organization_id is null
         do update set internal = true, disabled = false, updated_at = now(), version = agents.version + 1
           where agents.internal = false or agents.disabled = true
         returning id`,
        [spec.name, `Internal agent (${spec.dispatcherType} dispatcher)`],
      );
      const id =
        rows[0]?.id ?? (await client.query<{ id: string }>('select id from agents where organization_id is null and name = $1', [spec.name])).rows[0]!.id;
      ids.set(spec.name, id);
    }
    await client.query(
      `update agents set disabled = true, updated_at = now(), version = version + 1
       where organization_id is null and internal = true and disabled = false and not (name = any($1::text[]))`,
      [specs.map((spec) => spec.name)],
    );
    await client.query('commit');
    return ids;
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    await client.end();
  }
}

export interface RunningAgent {
  name: string;
  /** Stops the agent gracefully (SIGTERM: it hands back what it has not started) and waits for it. */
  stop(): Promise<void>;
}

const restartDelayMs = 2_000;

/**
 * Runs one internal agent as its own process (the agent CLI), restarted after a crash, with its
 * output prefixed by its name. Its credential is derived from the installation secret
 * (src/auth/internal-agent-credentials.ts), so nothing is stored for it.
 */
export async function runInternalAgent(
  spec: InternalAgentSpec,
  options: { apiUrl: string; keyEncryptionKey: string; projectRoot: string; log: (line: string) => void },
): Promise<RunningAgent> {
  const credential = await internalAgentCredential(options.keyEncryptionKey, spec.name);
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PHOBOS_AGENT_API_URL: options.apiUrl,
    PHOBOS_AGENT: spec.name,
    PHOBOS_AGENT_INTERNAL_CREDENTIAL: credential,
    PHOBOS_AGENT_JOB_DISPATCHER_TYPE: spec.dispatcherType,
    PHOBOS_AGENT_DESCRIPTION: `internal agent ${spec.name} (npm start)`,
  };
  for (const [key, value] of Object.entries(spec.dispatcherData)) env[`PHOBOS_AGENT_JOB_DISPATCHER_DATA_${key.toUpperCase()}`] = value;
  let child: ChildProcess | undefined;
  let stopping = false;
  const prefix = `[agent ${spec.name}] `;
  const start = () => {
    const started = spawn(process.execPath, [join(options.projectRoot, 'bin', 'phobos-edge-agent.mjs')], {
      cwd: options.projectRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [started.stdout, started.stderr]) {
      createInterface({ input: stream }).on('line', (line) => options.log(prefix + line));
    }
    started.once('exit', (code, signal) => {
      if (stopping) return;
      options.log(`${prefix}exited (${signal ?? code}); restarting in ${restartDelayMs / 1000} s`);
      setTimeout(() => {
        if (!stopping) child = start();
      }, restartDelayMs);
    });
    return started;
  };
  child = start();
  return {
    name: spec.name,
    async stop() {
      stopping = true;
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      const exited = once(running, 'exit');
      running.kill('SIGTERM');
      await exited;
    },
  };
}
