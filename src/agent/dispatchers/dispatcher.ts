// What every dispatcher does: start a job executor for one leased job (with JOB_ID, JOB_TOKEN,
// API_URL and MEMORY_LIMIT in its environment) and hand back a handle to wait for it or stop it.
// The data keys are Phobos's (`..._JOB_DISPATCHER_DATA_<KEY>`, lowercased).
import type { ReportRelay } from '../executor/report-relay';

export interface DispatchOutcome {
  /** The executor's exit code when known (0 finished, 1 failed, 2 canceled: it reported the end itself). */
  exitCode: number | null;
  /** What the dispatcher saw, for the job's reason when the executor could not report. */
  detail?: string;
}

export interface DispatchedJob {
  wait(): Promise<DispatchOutcome>;
  /** Stops the executor (it reports the job's end if it still can); resolves once asked. */
  cancel(): Promise<void>;
}

export interface Dispatcher {
  /**
   * `relay` carries the job's start and end on the agent's queue socket; a dispatcher whose
   * executor can reach it (the local one, over a Node IPC channel) passes it on, the others ignore
   * it and their executors report through the job token routes.
   */
  start(jobId: string, env: Record<string, string>, relay?: ReportRelay): Promise<DispatchedJob>;
}

export type DispatcherData = Record<string, string>;

export class DispatcherConfigError extends Error {}

export function requiredKey(data: DispatcherData, key: string, type: string): string {
  const value = data[key];
  if (!value) throw new DispatcherConfigError(`the ${type} dispatcher needs its "${key}" data`);
  return value;
}

/** A byte size: a plain number of bytes, or with a unit (512m, 2g, 1Gi, 256Mi, 64k). */
export function parseByteSize(value: string, key: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)$/i.exec(value.trim());
  if (!match) throw new DispatcherConfigError(`${key}: "${value}" is not a size (e.g. 512m, 2g, 1073741824)`);
  const power = ['', 'k', 'm', 'g', 't'].indexOf(match[2]!.toLowerCase());
  return Math.round(Number(match[1]) * 1024 ** power);
}

/** `a=1,b=2` or a JSON object, as a map (labels, annotations, node selectors). */
export function parseMap(value: string | undefined, key: string): Record<string, string> {
  if (!value) return {};
  if (value.trim().startsWith('{')) {
    const parsed: unknown = JSON.parse(value);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new DispatcherConfigError(`${key} must be a JSON object or a=1,b=2`);
    return Object.fromEntries(Object.entries(parsed).map(([name, entry]) => [name, String(entry)]));
  }
  const map: Record<string, string> = {};
  for (const pair of value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new DispatcherConfigError(`${key}: "${pair}" is not name=value`);
    map[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return map;
}

export function parseList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
}
