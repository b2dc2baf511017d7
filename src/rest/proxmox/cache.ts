// Node and storage lists change slowly and every console page asks for them: each isolate keeps the
// last answer per Proxmox VE API and token for PHOBOS_RAILING_CACHE_SECONDS (0: not at all). Only
// settled values are kept, never a pending promise: Workers do not let one request wait on I/O
// another request started. Failures are never kept. Statuses and actions never come through here.
import type { ProxmoxConnection } from './connection';

const entries = new Map<string, { expiresAt: number; value: unknown }>();
/** Enough for every list of a few clusters; the oldest entry goes first beyond it. */
const maxEntries = 64;

export async function cached<T>(connection: ProxmoxConnection, what: string, load: () => Promise<T>): Promise<T> {
  if (connection.cacheSeconds === 0) return load();
  const key = `${connection.cacheKey} ${what}`;
  const hit = entries.get(key);
  if (hit && hit.expiresAt > Date.now()) return hit.value as T;
  const value = await load();
  entries.delete(key);
  entries.set(key, { expiresAt: Date.now() + connection.cacheSeconds * 1000, value });
  if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
  return value;
}
