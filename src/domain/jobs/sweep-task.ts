// Cron: the agents' repair sweep (sweep.ts): stale sessions closed, jobs re-routed and re-enqueued,
// leases the queues lost given back.
import { agentQueuesFor } from '../agents/queues';
import { databaseFor } from '../../runtime';
import type { ScheduledTask } from '../../scheduled/tasks';
import { sweepAgentQueues } from './sweep';

export const agentQueueSweepTask: ScheduledTask = {
  name: 'agent-queue-sweep',
  async run({ env, config, logger, now }) {
    if (!config.database.host) return;
    const result = await sweepAgentQueues(
      {
        db: databaseFor(config).http,
        config,
        queues: agentQueuesFor(env, config),
        hubs: env.PROJECT_EVENT_HUB,
      },
      now,
    );
    if (result.sessionsClosed + result.unrouted + result.repaired + result.routed + result.enqueued > 0) logger.info('agent queues reconciled', { ...result });
  },
};
