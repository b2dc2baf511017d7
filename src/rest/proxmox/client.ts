// A small client of the Proxmox VE API (https://pve.proxmox.com/pve-docs/api-viewer/), for exactly
// what the railing needs: nodes, storage, guests (VMs and containers), a guest's status, and start,
// stop and reboot. Authenticates with an API token (`Authorization: PVEAPIToken=<id>=<secret>`, no
// ticket or CSRF token needed); answers are `{ data }`. Failures map to the railing's errors:
// unreachable or 5xx → 502, too slow → 504 (fetchUpstream); the token refused → 502 saying so (the
// caller's credentials were fine, ours were not); anything else unexpected → 502. Nodes and storage
// are kept for PHOBOS_RAILING_CACHE_SECONDS in this isolate (cache.ts); statuses and actions never.
import type { z } from 'zod';
import { AppError } from '../../errors';
import { fetchUpstream, upstreamJson, type UpstreamCall } from '../upstream';
import {
  guestAnswer,
  guestStatusAnswer,
  nodeAnswer,
  storageAnswer,
  upidAnswer,
  type GuestType,
  type ProxmoxGuest,
  type ProxmoxGuestStatus,
  type ProxmoxNode,
  type ProxmoxStorage,
} from './answers';
import { cached } from './cache';
import type { ProxmoxConnection } from './connection';

export type GuestAction = 'start' | 'stop' | 'reboot';

/** One VM or container, as the routes name it. */
export interface GuestRef {
  node: string;
  vmid: number;
  type: GuestType;
}

export interface ProxmoxClient {
  nodes(): Promise<ProxmoxNode[]>;
  storage(): Promise<ProxmoxStorage[]>;
  /** Every VM and container of the cluster (never cached: ownership and status decide from it). */
  guests(): Promise<ProxmoxGuest[]>;
  guestStatus(guest: GuestRef): Promise<ProxmoxGuestStatus>;
  /** Starts the task; returns its UPID. */
  guestAction(guest: GuestRef, action: GuestAction): Promise<string>;
}

const upstream: Omit<UpstreamCall, 'timeoutSeconds'> = { upstream: 'Proxmox VE' };

function refusal(status: number): AppError {
  if (status === 401) {
    return new AppError(
      'BAD_GATEWAY',
      'Proxmox VE refused the API token (401): check PHOBOS_PROXMOX_API_TOKEN_ID and PHOBOS_PROXMOX_API_TOKEN_SECRET, and that the token has not expired',
    );
  }
  if (status === 403) {
    return new AppError(
      'BAD_GATEWAY',
      'Proxmox VE refused the API token this call (403): give the token (or, with privilege separation, the token itself) a role allowing it, e.g. PVEAuditor on / to read and PVEVMUser to start and stop',
    );
  }
  return new AppError('BAD_GATEWAY', `Proxmox VE rejected the request (${status})`);
}

export function proxmoxClient(connection: ProxmoxConnection): ProxmoxClient {
  const call: UpstreamCall = { ...upstream, timeoutSeconds: connection.timeoutSeconds };

  async function request<T extends z.ZodType>(method: 'GET' | 'POST', path: string, schema: T, notFoundAs?: string): Promise<z.output<T>> {
    const response = await fetchUpstream(call, `${connection.baseUrl}${path}`, {
      method,
      headers: { authorization: connection.authorization, accept: 'application/json' },
    });
    if (!response.ok) {
      await response.body?.cancel();
      if (response.status === 404 && notFoundAs) throw new AppError('NOT_FOUND', `${notFoundAs} not found`);
      throw refusal(response.status);
    }
    const body = (await upstreamJson(call, response)) as { data?: unknown } | null;
    const parsed = schema.safeParse(body?.data);
    if (!parsed.success) throw new AppError('BAD_GATEWAY', `Proxmox VE answered ${path.split('?')[0]} with an unexpected shape`);
    return parsed.data;
  }

  const guestPath = (guest: GuestRef) => `/nodes/${encodeURIComponent(guest.node)}/${guest.type}/${guest.vmid}/status`;

  return {
    nodes: () => cached(connection, 'nodes', () => request('GET', '/nodes', nodeAnswer.array())),
    storage: () => cached(connection, 'storage', () => request('GET', '/cluster/resources?type=storage', storageAnswer.array())),
    guests: () => request('GET', '/cluster/resources?type=vm', guestAnswer.array()),
    guestStatus: (guest) => request('GET', `${guestPath(guest)}/current`, guestStatusAnswer, 'VM'),
    guestAction: (guest, action) => request('POST', `${guestPath(guest)}/${action}`, upidAnswer, 'VM'),
  };
}
