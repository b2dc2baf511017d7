// A Worker's end of one subscriber socket to a project's event hub: the hub's messages, queued
// until the subscription reads them. Reading never blocks the socket: events that arrive while the
// subscription is still replaying from Postgres wait here (the replay de-duplicates against them).
import type { HubEvent, HubFilter, HubMessage } from '../../durable/project-event-hub';
import { projectEventHub, type EventHubNamespace } from './publish';

export interface LiveEvents {
  /** The next batch in id order; undefined once the socket has closed (the hub restarted, or close()). */
  next(): Promise<HubEvent[] | undefined>;
  close(): void;
}

/** Opens a subscriber socket on the project's hub; resolves once the hub has accepted it. */
export async function openLiveEvents(hubs: EventHubNamespace, projectId: string, filter: HubFilter): Promise<LiveEvents> {
  const url = new URL('https://project-event-hub/subscribe');
  if (filter.pipelineId !== undefined) url.searchParams.set('pipelineId', filter.pipelineId);
  if (filter.jobId !== undefined) url.searchParams.set('jobId', filter.jobId);
  if (filter.releaseId !== undefined) url.searchParams.set('releaseId', filter.releaseId);
  const response = await projectEventHub(hubs, projectId).fetch(url, { headers: { upgrade: 'websocket' } });
  const socket = response.webSocket;
  if (!socket) throw new Error(`the project event hub refused a subscriber (status ${response.status})`);
  socket.accept();

  const queued: HubEvent[][] = [];
  let waiting: ((batch: HubEvent[] | undefined) => void) | undefined;
  let closed = false;
  const deliver = (batch: HubEvent[] | undefined) => {
    if (waiting) {
      const resolve = waiting;
      waiting = undefined;
      resolve(batch);
    } else if (batch) queued.push(batch);
  };
  const end = () => {
    if (closed) return;
    closed = true;
    deliver(undefined);
  };
  socket.addEventListener('message', (message) => {
    if (typeof message.data === 'string') deliver((JSON.parse(message.data) as HubMessage).events);
  });
  socket.addEventListener('close', end);
  socket.addEventListener('error', end);

  return {
    next() {
      const batch = queued.shift();
      if (batch || closed) return Promise.resolve(batch);
      return new Promise((resolve) => {
        waiting = resolve;
      });
    },
    close() {
      end();
      try {
        socket.close(1000, 'subscription ended');
      } catch {
        // Already closed.
      }
    },
  };
}
