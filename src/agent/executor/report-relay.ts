// The job's start and end, relayed by the agent that started this executor: the `local` dispatcher
// spawns the executor with a Node IPC channel, the executor sends each report up it, and the agent
// sends it on its queue socket (src/agent/agent.ts) and passes the queue's answer back — no HTTP
// request through the Worker per report. The relay answers `null` when it cannot carry the report
// (the agent has no open socket, or lost it before the answer came): the executor then reports
// through the job token routes, as every executor without an IPC channel (docker, kubernetes, ecs)
// always does. The channel is the executor's own: Node takes NODE_CHANNEL_FD out of its
// environment and does not pass the descriptor to the commands the job runs, which hold no job
// token either, so they cannot report for the job.
import { z } from 'zod';
import { finishRequest, reportAnswer, type ReportAnswer } from '../../protocol/agent-v1';

/** A report without its lease: the agent adds the job and lease it started this executor for, so an executor speaks for its own lease only. */
const reportBody = z.discriminatedUnion('status', [z.object({ status: z.literal('RUNNING') }), finishRequest]);
export type ReportBody = z.infer<typeof reportBody>;

/** Executor → agent: one report, numbered for its answer. */
export const relayedReport = z.object({ type: z.literal('report'), id: z.number().int().nonnegative(), report: reportBody });
export type RelayedReport = z.infer<typeof relayedReport>;

/** Agent → executor: the queue's answer to report `id`, or null when the agent could not carry it. */
export const relayedAnswer = z.object({ type: z.literal('reported'), id: z.number().int().nonnegative(), answer: reportAnswer.nullable() });
export type RelayedAnswer = z.infer<typeof relayedAnswer>;

/** Carries one report; null: not carried, report another way. */
export type ReportRelay = (report: ReportBody) => Promise<ReportAnswer | null>;

/** The relay over this process's IPC channel, when it was started with one. */
export function ipcReportRelay(channel: Pick<NodeJS.Process, 'send' | 'on' | 'off' | 'connected'> = process): ReportRelay | null {
  const send = channel.send?.bind(channel);
  if (!send) return null;
  const waiting = new Map<number, (answer: ReportAnswer | null) => void>();
  let next = 0;
  channel.on('message', (message: unknown) => {
    const parsed = relayedAnswer.safeParse(message);
    if (!parsed.success) return;
    waiting.get(parsed.data.id)?.(parsed.data.answer);
    waiting.delete(parsed.data.id);
  });
  // The agent went away: whatever it did not answer is reported another way.
  channel.on('disconnect', () => {
    for (const answer of waiting.values()) answer(null);
    waiting.clear();
  });
  return (report) =>
    new Promise((resolve) => {
      if (!channel.connected) return resolve(null);
      const id = next++;
      waiting.set(id, resolve);
      send({ type: 'report', id, report } satisfies RelayedReport, undefined, undefined, (error: Error | null) => {
        if (error && waiting.delete(id)) resolve(null);
      });
    });
}
