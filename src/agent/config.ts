// The agent's settings, from flags or the environment (a flag wins). Secrets may come from a file:
// NAME_FILE's content is NAME's value (one trailing newline trimmed), as the server's own settings.
//
//   --api-url            PHOBOS_AGENT_API_URL           the Phobos Edge URL (required)
//   --agent              PHOBOS_AGENT                   the agent's id, or its path: <name> (shared) or <organization>/<name>
//   --api-key            PHOBOS_AGENT_API_KEY           credential: an API key of the agent's service account
//   --service-account    PHOBOS_AGENT_SERVICE_ACCOUNT   credential: <organization>/<service account>, signed in by token exchange ...
//   --oidc-token         PHOBOS_AGENT_OIDC_TOKEN        ... of this external OIDC token (use _FILE for a rotated token file)
//   --internal-credential PHOBOS_AGENT_INTERNAL_CREDENTIAL  credential: an internal agent's (pia_...)
//   --dispatcher         PHOBOS_AGENT_JOB_DISPATCHER_TYPE    local (default), docker, kubernetes, ecs
//   --dispatcher-data k=v PHOBOS_AGENT_JOB_DISPATCHER_DATA_<KEY>  the dispatcher's data (repeatable flag)
//   --executor-api-url   PHOBOS_AGENT_EXECUTOR_API_URL  the API URL as the executor reaches it (default: --api-url)
//   --transport          PHOBOS_AGENT_TRANSPORT         auto (default: WebSocket, long poll meanwhile), websocket, poll
//   --shutdown-grace-seconds PHOBOS_AGENT_SHUTDOWN_GRACE_SECONDS  running jobs' time to finish on SIGTERM (default 30)
//   --description        PHOBOS_AGENT_DESCRIPTION       shown with the session, at most 200 characters (default: host name)
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { textProblem } from '../domain/text';
import { openSessionRequest } from '../protocol/agent-v1';
import type { DispatcherData } from './dispatchers/dispatcher';

export interface AgentConfig {
  apiUrl: string;
  executorApiUrl: string;
  agent: string;
  description: string;
  credential:
    | { type: 'apiKey'; key: string }
    | { type: 'tokenExchange'; serviceAccount: string; token: () => string }
    | { type: 'internal'; credential: string };
  dispatcherType: string;
  dispatcherData: DispatcherData;
  transport: 'auto' | 'websocket' | 'poll';
  shutdownGraceSeconds: number;
}

export class AgentConfigError extends Error {}

const options = {
  'api-url': { type: 'string', env: 'PHOBOS_AGENT_API_URL' },
  agent: { type: 'string', env: 'PHOBOS_AGENT' },
  'api-key': { type: 'string', env: 'PHOBOS_AGENT_API_KEY' },
  'service-account': { type: 'string', env: 'PHOBOS_AGENT_SERVICE_ACCOUNT' },
  'oidc-token': { type: 'string', env: 'PHOBOS_AGENT_OIDC_TOKEN' },
  'internal-credential': { type: 'string', env: 'PHOBOS_AGENT_INTERNAL_CREDENTIAL' },
  dispatcher: { type: 'string', env: 'PHOBOS_AGENT_JOB_DISPATCHER_TYPE' },
  'executor-api-url': { type: 'string', env: 'PHOBOS_AGENT_EXECUTOR_API_URL' },
  transport: { type: 'string', env: 'PHOBOS_AGENT_TRANSPORT' },
  'shutdown-grace-seconds': { type: 'string', env: 'PHOBOS_AGENT_SHUTDOWN_GRACE_SECONDS' },
  description: { type: 'string', env: 'PHOBOS_AGENT_DESCRIPTION' },
} as const;

export const dispatcherDataPrefix = 'PHOBOS_AGENT_JOB_DISPATCHER_DATA_';

export const agentUsage = `Usage: phobos-edge-agent [flags]   (every flag has an environment variable; NAME_FILE reads NAME from a file)
${Object.entries(options)
  .map(([flag, { env }]) => `  --${flag.padEnd(24)} ${env}`)
  .join('\n')}
  --dispatcher-data key=value  ${dispatcherDataPrefix}<KEY>   (repeatable)
One credential: --api-key, --service-account with --oidc-token, or --internal-credential.`;

/** NAME's value: NAME_FILE's content when that is set (read each call: token files rotate). */
function fromEnvironment(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const file = env[`${name}_FILE`];
  if (file) {
    try {
      return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw new AgentConfigError(`${name}_FILE: cannot read ${file}: ${(error as Error).message}`);
    }
  }
  return env[name] || undefined;
}

export function loadAgentConfig(argv: string[], env: NodeJS.ProcessEnv): AgentConfig {
  let parsed: ReturnType<typeof parseArgs<{ options: Record<string, { type: 'string'; multiple?: boolean }> }>>;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        ...Object.fromEntries(Object.keys(options).map((flag) => [flag, { type: 'string' as const }])),
        'dispatcher-data': { type: 'string', multiple: true },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new AgentConfigError((error as Error).message);
  }
  const flags = parsed.values as Record<string, string | string[] | undefined>;
  const value = (flag: keyof typeof options) => (flags[flag] as string | undefined) ?? fromEnvironment(env, options[flag].env);
  const required = (flag: keyof typeof options) => {
    const found = value(flag);
    if (!found) throw new AgentConfigError(`--${flag} (or ${options[flag].env}) is required`);
    return found;
  };

  const apiUrl = required('api-url').replace(/\/+$/, '');
  try {
    new URL(apiUrl);
  } catch {
    throw new AgentConfigError(`--api-url: "${apiUrl}" is not a URL`);
  }

  const apiKey = value('api-key');
  const serviceAccount = value('service-account');
  const internal = value('internal-credential');
  const given = [apiKey, serviceAccount, internal].filter(Boolean).length;
  if (given !== 1) throw new AgentConfigError('give exactly one credential: --api-key, --service-account (with --oidc-token), or --internal-credential');
  let credential: AgentConfig['credential'];
  if (apiKey) credential = { type: 'apiKey', key: apiKey };
  else if (internal) credential = { type: 'internal', credential: internal };
  else {
    if (!/^[^/]+\/[^/]+$/.test(serviceAccount!)) throw new AgentConfigError('--service-account must be "<organization>/<service account>"');
    const flagToken = flags['oidc-token'] as string | undefined;
    if (!flagToken && !fromEnvironment(env, options['oidc-token'].env))
      throw new AgentConfigError('--service-account needs --oidc-token (or PHOBOS_AGENT_OIDC_TOKEN or PHOBOS_AGENT_OIDC_TOKEN_FILE)');
    credential = { type: 'tokenExchange', serviceAccount: serviceAccount!, token: () => flagToken ?? fromEnvironment(env, options['oidc-token'].env)! };
  }

  // The session-open request's rules, checked here: the server would refuse the session (a 400).
  const agent = required('agent');
  const agentMax = openSessionRequest.shape.agent.maxLength ?? Number.POSITIVE_INFINITY;
  if (agent.length > agentMax) throw new AgentConfigError(`--agent (or ${options.agent.env}) must be at most ${agentMax} characters, not ${agent.length}`);
  const descriptionMax = openSessionRequest.shape.description.unwrap().maxLength ?? Number.POSITIVE_INFINITY;
  const description = value('description');
  if (description !== undefined && description.length > descriptionMax)
    throw new AgentConfigError(`--description (or ${options.description.env}) must be at most ${descriptionMax} characters, not ${description.length}`);
  for (const [flag, given] of [
    ['agent', agent],
    ['description', description],
  ] as const) {
    const problem = given === undefined ? undefined : textProblem(given);
    if (problem) throw new AgentConfigError(`--${flag} (or ${options[flag].env}) ${problem}`);
  }

  const dispatcherData: DispatcherData = {};
  for (const name of Object.keys(env)) {
    if (!name.startsWith(dispatcherDataPrefix)) continue;
    const key = name.slice(dispatcherDataPrefix.length).replace(/_FILE$/, '');
    const data = fromEnvironment(env, `${dispatcherDataPrefix}${key}`);
    if (data !== undefined) dispatcherData[key.toLowerCase()] = data;
  }
  for (const pair of (flags['dispatcher-data'] as string[] | undefined) ?? []) {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new AgentConfigError(`--dispatcher-data: "${pair}" is not key=value`);
    dispatcherData[pair.slice(0, equals).toLowerCase()] = pair.slice(equals + 1);
  }

  const transport = value('transport') ?? 'auto';
  if (transport !== 'auto' && transport !== 'websocket' && transport !== 'poll')
    throw new AgentConfigError(`--transport must be auto, websocket or poll, not "${transport}"`);
  const grace = Number(value('shutdown-grace-seconds') ?? 30);
  if (!Number.isFinite(grace) || grace < 0) throw new AgentConfigError('--shutdown-grace-seconds must be a number of seconds');

  return {
    apiUrl,
    executorApiUrl: (value('executor-api-url') ?? apiUrl).replace(/\/+$/, ''),
    agent,
    description: description ?? `${hostname()} (phobos-edge-agent)`.slice(0, descriptionMax),
    credential,
    dispatcherType: value('dispatcher') ?? 'local',
    dispatcherData,
    transport,
    shutdownGraceSeconds: grace,
  };
}
