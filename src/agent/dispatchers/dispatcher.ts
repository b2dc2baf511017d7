// What every dispatcher does: start a job executor for one leased job (with JOB_ID, JOB_TOKEN,
// API_URL and MEMORY_LIMIT in its environment) and hand back a handle to wait for it or stop it.
// The data keys are Phobos's (`..._JOB_DISPATCHER_DATA_<KEY>`, lowercased). Each dispatcher checks
// all its data in its constructor, so that a bad setting stops the agent at start (exit 2) rather
// than failing every job.
import { dispatcherDataPrefix } from '../config';
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

/** A data key as the agent's settings name it: `labels (PHOBOS_AGENT_JOB_DISPATCHER_DATA_LABELS)`. */
export function dataSetting(key: string): string {
  return `${key} (${dispatcherDataPrefix}${key.toUpperCase()})`;
}

export function requiredKey(data: DispatcherData, key: string, type: string): string {
  const value = data[key];
  if (!value) throw new DispatcherConfigError(`the ${type} dispatcher needs its "${key}" data (${dispatcherDataPrefix}${key.toUpperCase()})`);
  return value;
}

/** A byte size: a plain number of bytes, or with a unit (512m, 2g, 1Gi, 256Mi, 64k). */
export function parseByteSize(value: string, key: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)$/i.exec(value.trim());
  if (!match) throw new DispatcherConfigError(`${dataSetting(key)}: "${value}" is not a size (e.g. 512m, 2g, 1073741824)`);
  const power = ['', 'k', 'm', 'g', 't'].indexOf(match[2]!.toLowerCase());
  return Math.round(Number(match[1]) * 1024 ** power);
}

/** `a=1,b=2` or a JSON object, as a map (labels, annotations, node selectors). */
export function parseMap(value: string | undefined, key: string): Record<string, string> {
  if (!value) return {};
  if (value.trim().startsWith('{')) {
    const parsed = parseJsonObject(value, key, ' or a=1,b=2');
    return Object.fromEntries(Object.entries(parsed).map(([name, entry]) => [name, String(entry)]));
  }
  const map: Record<string, string> = {};
  for (const pair of value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new DispatcherConfigError(`${dataSetting(key)}: "${pair}" is not name=value`);
    map[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return map;
}

/** A JSON object (not an array or a scalar), or a DispatcherConfigError naming the key. */
export function parseJsonObject(value: string, key: string, alternative = ''): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw new DispatcherConfigError(`${dataSetting(key)} must be a JSON object${alternative}: ${(error as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new DispatcherConfigError(`${dataSetting(key)} must be a JSON object${alternative}`);
  return parsed as Record<string, unknown>;
}

/** A yes/no setting: true, false, 1, 0, yes, no (any case); absent is `fallback`. */
export function parseBoolean(value: string | undefined, key: string, fallback = false): boolean {
  if (!value) return fallback;
  const answers: Record<string, boolean> = { true: true, '1': true, yes: true, false: false, '0': false, no: false };
  const answer = answers[value.trim().toLowerCase()];
  if (answer === undefined) throw new DispatcherConfigError(`${dataSetting(key)} must be true or false, not "${value}"`);
  return answer;
}

export function parseList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
}
