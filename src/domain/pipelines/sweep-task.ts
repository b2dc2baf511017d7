// Cron: queue the next attempt of every gate that is due.
import { databaseFor } from '../../runtime';
import type { ScheduledTask } from '../../scheduled/tasks';
import { advanceDueNodes } from './sweep';

export const advanceDueNodesTask: ScheduledTask = {
  name: 'advance-due-nodes',
  async run({ config, logger, now }) {
    if (!config.database.host) return;
    const moved = await advanceDueNodes(databaseFor(config).http, config, now);
    if (moved > 0) logger.info('pipelines advanced', { moved });
  },
};
