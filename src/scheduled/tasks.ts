// Work the cron trigger runs (DESIGN.md: lease sweeps, dispatch reconciliation, signing-key
// rotation, session clean-up). Each task is independent: one failing does not stop the others.
import type { PhobosConfig } from '../config/load';
import type { WorkerEnv } from '../env';
import type { Logger } from '../platform/logger';
import { signingKeyRotationTask } from '../auth/signing/rotation-task';
import { jobLogRetentionTask } from '../domain/job-logs/retention';
import { agentQueueSweepTask } from '../domain/jobs/sweep-task';
import { notificationsTask } from '../domain/notifications/task';
import { abandonedPluginUploadsTask } from '../domain/plugins/abandoned-uploads';
import { pipelineEventPublishTask } from '../domain/pipelines/publish-task';
import { advanceDueNodesTask } from '../domain/pipelines/sweep-task';
import { releaseDueDatesTask } from '../domain/releases/due-date-task';
import { webhookDeliveryTask } from '../domain/webhooks/task';

export interface ScheduledTask {
  name: string;
  run(context: { env: WorkerEnv; config: PhobosConfig; logger: Logger; now: Date }): Promise<void>;
}

/** Later milestones register their tasks here. */
export const scheduledTasks: ScheduledTask[] = [
  signingKeyRotationTask,
  advanceDueNodesTask,
  pipelineEventPublishTask,
  releaseDueDatesTask,
  jobLogRetentionTask,
  agentQueueSweepTask,
  webhookDeliveryTask,
  notificationsTask,
  abandonedPluginUploadsTask,
];

export async function runScheduledTasks(tasks: ScheduledTask[], context: Parameters<ScheduledTask['run']>[0]): Promise<{ name: string; ok: boolean }[]> {
  return Promise.all(
    tasks.map(async (task) => {
      try {
        await task.run(context);
        return { name: task.name, ok: true };
      } catch (error) {
        context.logger.error('scheduled task failed', { task: task.name, error });
        return { name: task.name, ok: false };
      }
    }),
  );
}
