// Calls to the railing's upstreams (the Phoenix railing, Proxmox VE, Prometheus, Alertmanager) with
// one timeout and one mapping of their failures: unreachable or a 5xx → 502 BAD_GATEWAY, no answer
// within PHOBOS_RAILING_UPSTREAM_TIMEOUT_SECONDS → 504 GATEWAY_TIMEOUT. The upstream's own error
// text is logged by the caller if useful, never passed to the client (it may name internal hosts).
import { AppError } from '../errors';

export interface UpstreamCall {
  /** Named in errors: "Proxmox VE", "Prometheus", … */
  upstream: string;
  timeoutSeconds: number;
}

export async function fetchUpstream(call: UpstreamCall, url: string | URL, init: RequestInit = {}): Promise<Response> {
  const signal = AbortSignal.timeout(call.timeoutSeconds * 1000);
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal });
  } catch (cause) {
    if (signal.aborted) {
      throw new AppError('GATEWAY_TIMEOUT', `${call.upstream} did not answer within ${call.timeoutSeconds} s`, { cause });
    }
    throw new AppError('BAD_GATEWAY', `${call.upstream} could not be reached`, { cause });
  }
  if (response.status >= 500) {
    await response.body?.cancel();
    throw new AppError('BAD_GATEWAY', `${call.upstream} failed (${response.status})`);
  }
  return response;
}

/** The upstream's JSON body, or 502 when it is not JSON. */
export async function upstreamJson(call: UpstreamCall, response: Response): Promise<unknown> {
  try {
    return await response.json();
  } catch (cause) {
    throw new AppError('BAD_GATEWAY', `${call.upstream} answered with a body that is not JSON`, { cause });
  }
}
