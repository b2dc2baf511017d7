// The cluster as a whole (every node and storage pool) spans every tenant, so only callers holding
// the installation permission `cluster:view` (system administrators) see it. The Proxmox VE client is
// made only after the check, so a caller who may not look learns nothing about the configuration.
import { authorize, installation, type Caller } from '../../auth/rbac';
import type { ProxmoxNode, ProxmoxStorage } from '../../rest/proxmox/answers';
import type { ProxmoxClient } from '../../rest/proxmox/client';

export async function listNodes(caller: Caller, proxmox: () => ProxmoxClient): Promise<ProxmoxNode[]> {
  authorize(caller, 'cluster:view', installation);
  return proxmox().nodes();
}

export async function listStorage(caller: Caller, proxmox: () => ProxmoxClient): Promise<ProxmoxStorage[]> {
  authorize(caller, 'cluster:view', installation);
  return proxmox().storage();
}
