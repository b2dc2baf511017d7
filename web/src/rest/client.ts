// The console's way to the REST railing (/api/v1): fetch with the session's bearer token, like the
// GraphQL client, typed by the OpenAPI document's schemas (the same types the API's tests use, written
// by `npm run openapi:types`). A problem+json answer becomes an ApiError with the API's detail, its
// code and request id, and `field` for a 400, so the page can show it where it belongs.
import type { components } from '../../../test/support/phobos-api';
import { authorizationHeaders, endSession } from '../auth/session';
import { apiUrl } from '../config';
import { ApiError, unreachable } from '../graphql/client';

type Schemas = components['schemas'];
export type InfraNode = Schemas['InfraNode'];
export type InfraStorage = Schemas['InfraStorage'];
export type TenantVm = Schemas['TenantVm'];
export type Vm = Schemas['Vm'];
export type VmAction = Schemas['VmAction'];
export type HealthSummary = Schemas['HealthSummary'];
export type Alert = Schemas['Alert'];
export type PrometheusQueryData = Schemas['PrometheusQueryData'];
export type HealthMetrics = Schemas['HealthMetrics'];
type Problem = Schemas['Problem'];

/** Maps a railing answer that is not 2xx to an error carrying the API's own words. */
export function problemError(status: number, body: unknown, headerRequestId?: string): ApiError {
  const problem = (body && typeof body === 'object' ? body : {}) as Partial<Problem>;
  const message = problem.detail || problem.title || `The API answered ${status}.`;
  return new ApiError(message, problem.requestId ?? headerRequestId, problem.code, status, problem.field);
}

type Query = Record<string, string | number | undefined>;

async function call<T>(method: 'GET' | 'POST', path: string, query: Query = {}): Promise<T> {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== '') search.set(key, String(value));
  let response: Response;
  try {
    response = await fetch(`${apiUrl}/api/v1${path}${search.size ? `?${search}` : ''}`, {
      method,
      headers: { accept: 'application/json, application/problem+json', ...(await authorizationHeaders()) },
    });
  } catch {
    throw unreachable();
  }
  const body = (await response.json().catch(() => undefined)) as unknown;
  if (response.status === 401) {
    endSession('expired');
    throw problemError(401, body, response.headers.get('x-request-id') ?? undefined);
  }
  if (!response.ok) throw problemError(response.status, body, response.headers.get('x-request-id') ?? undefined);
  return body as T;
}

export const railing = {
  nodes: () => call<Schemas['InfraNodes']>('GET', '/infra/nodes'),
  storage: () => call<Schemas['InfraStorageList']>('GET', '/infra/storage'),
  vms: () => call<Schemas['VmList']>('GET', '/ve/vms'),
  vmAction: (vm: Pick<Vm, 'node' | 'vmid' | 'type'>, action: VmAction['action']) =>
    call<VmAction>('POST', `/ve/vms/${encodeURIComponent(vm.node)}/${vm.vmid}/${action}`, { type: vm.type }),
  healthSummary: () => call<HealthSummary>('GET', '/health/summary'),
  alerts: () => call<Schemas['HealthAlerts']>('GET', '/health/alerts'),
  metrics: (query: { query: string; time?: string; start?: string; end?: string; step?: string }) =>
    call<Schemas['HealthMetrics']>('GET', '/health/metrics', query),
  myResources: () => call<Schemas['MyTenantResources']>('GET', '/tenants/me/resources'),
  myHealth: () => call<Schemas['TenantsHealth']>('GET', '/tenants/me/health'),
};
