// The Proxmox VE client of a request, made on first use: services decide authorization before they
// ask for it, so a caller who may not look never learns whether Proxmox VE is configured.
import type { Context } from 'hono';
import type { AppEnv } from '../../http/app-env';
import { type ProxmoxClient, proxmoxClient } from './client';
import { proxmoxConnection } from './connection';

export function proxmoxFor(c: Context<AppEnv>): () => ProxmoxClient {
  let client: ProxmoxClient | undefined;
  return () => {
    client ??= proxmoxClient(proxmoxConnection(c.get('config').railing));
    return client;
  };
}
