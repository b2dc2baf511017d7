// A Proxmox VE fake of the test file's own, from inside workerd: started through the launcher of the
// global setup (test/setup/proxmox-fakes.ts) on a random loopback port, controlled over its /__fake/
// endpoints, stopped by the test. `env` is what points the Worker at it.
import { env } from 'cloudflare:workers';
import type { FakeGuest, FakeNode, ProxmoxFault } from '../fakes/proxmox';

const launcherUrl = (env as unknown as Record<string, string>).TEST_PROXMOX_FAKES_URL!;

export interface ProxmoxFakeHandle {
  url: string;
  tokenId: string;
  /** PHOBOS_PROXMOX_* for this fake. */
  env: Record<string, string>;
  setFault(fault: ProxmoxFault): Promise<void>;
  /** API requests served so far, as `GET /nodes`. */
  hits(): Promise<string[]>;
  guests(): Promise<FakeGuest[]>;
  stop(): Promise<void>;
}

export async function startProxmoxFake(seed: { guests?: FakeGuest[]; nodes?: FakeNode[]; slowMs?: number } = {}): Promise<ProxmoxFakeHandle> {
  const tokenId = 'root@pam!phobos';
  const secret = crypto.randomUUID();
  const response = await fetch(`${launcherUrl}/proxmox`, { method: 'POST', body: JSON.stringify({ tokenId, secret, ...seed }) });
  if (response.status !== 201) throw new Error(`The Proxmox VE fake did not start: ${response.status} ${await response.text()}`);
  const { url, port } = (await response.json()) as { url: string; port: number };
  const control = async <T>(path: string, init?: RequestInit) => (await (await fetch(`${url}/__fake/${path}`, init)).json()) as T;
  return {
    url,
    tokenId,
    env: { PHOBOS_PROXMOX_API_URL: url, PHOBOS_PROXMOX_API_TOKEN_ID: tokenId, PHOBOS_PROXMOX_API_TOKEN_SECRET: secret },
    setFault: async (fault) => {
      await control('fault', { method: 'POST', body: JSON.stringify({ fault }) });
    },
    hits: async () => (await control<{ hits: string[] }>('hits')).hits,
    guests: async () => (await control<{ guests: FakeGuest[] }>('guests')).guests,
    stop: async () => {
      await (await fetch(`${launcherUrl}/proxmox/${port}`, { method: 'DELETE' })).body?.cancel();
    },
  };
}
