#!/usr/bin/env node
// `npx phobos-edge-agent`: the agent CLI (src/agent/cli.ts) run from its TypeScript source through
// tsx, which the repository installs.
import { register } from 'tsx/esm/api';

register();
await import('../src/agent/cli.ts');
