// Which Proxmox VE API the railing calls, from the configuration: its base URL, the API token, and
// the TLS switch. Nothing is configured → 503 naming the variable, at use, so the rest of the Worker
// runs without a Proxmox VE cluster.
//
// PHOBOS_PROXMOX_TLS_VERIFY=false cannot be honoured: `fetch` in Cloudflare Workers (and workerd
// under `wrangler dev`) always verifies the server's certificate and has no option to skip it. So an
// https:// API URL with the switch off is refused with 503 saying so, rather than silently verifying
// anyway. Over http:// (a Cloudflare Tunnel's or a private network's plain side) there is no
// certificate to verify and the switch changes nothing. README: "REST railing: infrastructure and VMs".
import type { PhobosConfig } from '../../config/load';
import { AppError } from '../../errors';

export interface ProxmoxConnection {
  /** `${PHOBOS_PROXMOX_API_URL}/api2/json`. */
  baseUrl: string;
  /** The `Authorization` header value: `PVEAPIToken=<tokenid>=<secret>`. */
  authorization: string;
  /** The key of this API and token in the per-isolate cache (never the secret itself). */
  cacheKey: string;
  timeoutSeconds: number;
  cacheSeconds: number;
}

const notConfigured = (variable: string) =>
  new AppError('SERVICE_UNAVAILABLE', `Proxmox VE is not configured: set ${variable} (or PHOENIX_RAILING_URL to proxy to a Phoenix railing)`);

export function proxmoxConnection(railing: PhobosConfig['railing']): ProxmoxConnection {
  const { apiUrl, apiTokenId, apiTokenSecret, tlsVerify } = railing.proxmox;
  if (!apiUrl) throw notConfigured('PHOBOS_PROXMOX_API_URL');
  if (!apiTokenId) throw notConfigured('PHOBOS_PROXMOX_API_TOKEN_ID');
  if (!apiTokenSecret) throw notConfigured('PHOBOS_PROXMOX_API_TOKEN_SECRET');
  if (!tlsVerify && new URL(apiUrl).protocol === 'https:') {
    throw new AppError(
      'SERVICE_UNAVAILABLE',
      'PHOBOS_PROXMOX_TLS_VERIFY=false cannot be honoured: Cloudflare Workers always verify TLS certificates. ' +
        'Give Proxmox VE a certificate from a trusted CA (its ACME client) or reach it through a Cloudflare Tunnel, then set PHOBOS_PROXMOX_TLS_VERIFY=true',
    );
  }
  return {
    baseUrl: `${apiUrl}/api2/json`,
    authorization: `PVEAPIToken=${apiTokenId}=${apiTokenSecret}`,
    cacheKey: `${apiUrl} ${apiTokenId}`,
    timeoutSeconds: railing.upstreamTimeoutSeconds,
    cacheSeconds: railing.cacheSeconds,
  };
}
