// `npx phobos-edge-agent` / `npm run agent`: runs one agent until SIGTERM or SIGINT (a second signal
// stops at once). Settings: see config.ts (or --help).
import { Agent } from './agent';
import { AgentConfigError, agentUsage, loadAgentConfig } from './config';
import { type AgentCredential, apiKeyCredential, bearerCredential, tokenExchangeCredential } from './credentials';
import { DispatcherConfigError } from './dispatchers/dispatcher';
import { createDispatcher, memoryLimitOf } from './dispatchers/index';

async function main(): Promise<number> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(`${agentUsage}\n`);
    return 0;
  }
  const config = loadAgentConfig(process.argv.slice(2), process.env);
  const credential: AgentCredential =
    config.credential.type === 'apiKey'
      ? apiKeyCredential(config.credential.key)
      : config.credential.type === 'internal'
        ? bearerCredential(config.credential.credential)
        : tokenExchangeCredential(config.apiUrl, config.credential.serviceAccount, config.credential.token);
  const agent = new Agent({
    apiUrl: config.apiUrl,
    executorApiUrl: config.executorApiUrl,
    agent: config.agent,
    description: config.description,
    credential,
    dispatcher: createDispatcher(config.dispatcherType, config.dispatcherData),
    memoryLimit: memoryLimitOf(config.dispatcherData),
    transport: config.transport,
    shutdownGraceMs: config.shutdownGraceSeconds * 1000,
  });
  let signals = 0;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (++signals > 1) process.exit(130);
      agent.shutdown();
    });
  }
  await agent.run();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    const expected = error instanceof AgentConfigError || error instanceof DispatcherConfigError;
    process.stderr.write(`phobos-edge-agent: ${expected ? error.message : (error.stack ?? error.message)}\n`);
    if (error instanceof AgentConfigError) process.stderr.write(`${agentUsage}\n`);
    process.exit(expected ? 2 : 1);
  },
);
