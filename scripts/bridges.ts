// The local bridges as a process of their own: `node --import tsx scripts/bridges.ts
// --postgres <host:port> [--redis-token <token>]` prints one JSON line with their URLs and runs
// until it is sent SIGTERM or SIGINT. The benchmark uses it so the bridges do not share an event
// loop with the load generator and wrangler's dev servers, as they do not under `npm start` either.
import { parseArgs } from 'node:util';
import { startDbBridge } from './db-bridge';
import { startRedisRestBridge } from './redis-rest-bridge';

const { values } = parseArgs({ options: { postgres: { type: 'string' }, 'redis-token': { type: 'string' }, 'redis-url': { type: 'string' } } });
if (!values.postgres) {
  console.error('usage: bridges.ts --postgres <host:port> [--redis-token <token>] [--redis-url <redis://…>]');
  process.exit(2);
}
const db = await startDbBridge({ allowedTargets: [values.postgres] });
const redis = values['redis-token'] ? await startRedisRestBridge({ token: values['redis-token'], redisUrl: values['redis-url'] }) : undefined;
console.log(JSON.stringify({ postgres: db.url, redis: redis?.url }));
const stop = async () => {
  await Promise.all([db.close(), redis?.close()]);
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
