// What GET /api/v1/health/metrics asks Prometheus: an instant query, or a range query when any of
// `start`, `end`, `step` is given (then all three are needed). Checked here so a bad parameter is a
// 400 naming it before Prometheus is asked: the expression's length, times as RFC 3339 or unix
// seconds, the step as a Prometheus duration (`30s`, `1m30s`) or seconds, `end` not before `start`,
// and at most as many points per series as Prometheus itself allows (11,000).
import { badInput } from '../../errors';

export interface MetricsInput {
  query: string;
  time?: string;
  start?: string;
  end?: string;
  step?: string;
}

export interface MetricsQuery {
  endpoint: 'query' | 'query_range';
  parameters: Record<string, string>;
}

/** Prometheus refuses range queries with more points than this per series. */
const maxPointsPerSeries = 11_000;

export function metricsQueryOf(input: MetricsInput, maxQueryLength: number): MetricsQuery {
  const query = input.query.trim();
  if (query === '') throw badInput('query', 'must be a PromQL expression');
  if (input.query.length > maxQueryLength) throw badInput('query', `must be at most ${maxQueryLength} characters (PHOBOS_PROMQL_MAX_LENGTH)`);

  const ranged = input.start !== undefined || input.end !== undefined || input.step !== undefined;
  if (!ranged) {
    return { endpoint: 'query', parameters: { query, ...(input.time === undefined ? {} : { time: String(timestampOf('time', input.time)) }) } };
  }
  if (input.time !== undefined) throw badInput('time', 'is for instant queries; a range query takes start, end and step');
  for (const field of ['start', 'end', 'step'] as const) {
    if (input[field] === undefined) throw badInput(field, 'is required for a range query (start, end and step)');
  }
  const start = timestampOf('start', input.start as string);
  const end = timestampOf('end', input.end as string);
  const step = stepOf(input.step as string);
  if (end < start) throw badInput('end', 'must not be before start');
  if (Math.floor((end - start) / step) + 1 > maxPointsPerSeries) {
    throw badInput('step', `gives more than ${maxPointsPerSeries} points per series between start and end: choose a larger step`);
  }
  return { endpoint: 'query_range', parameters: { query, start: String(start), end: String(end), step: String(step) } };
}

const unixSeconds = /^\d{1,12}(\.\d{1,9})?$/;
const rfc3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** Unix seconds from RFC 3339 or unix seconds. */
function timestampOf(field: string, value: string): number {
  if (unixSeconds.test(value)) return Number(value);
  const milliseconds = rfc3339.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(milliseconds)) throw badInput(field, 'must be an RFC 3339 time (2026-01-01T00:00:00Z) or unix seconds');
  return milliseconds / 1000;
}

const durationUnits: [string, number][] = [
  ['y', 365 * 24 * 3600],
  ['w', 7 * 24 * 3600],
  ['d', 24 * 3600],
  ['h', 3600],
  ['m', 60],
  ['s', 1],
  ['ms', 0.001],
];
const duration = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const seconds = /^\d{1,12}(\.\d{1,9})?$/;

/** The step in seconds, from a Prometheus duration (`1h30m`) or seconds (`15`, `0.5`); above zero. */
function stepOf(value: string): number {
  let step = Number.NaN;
  if (seconds.test(value)) step = Number(value);
  else {
    const parts = value === '' ? null : duration.exec(value);
    if (parts) step = durationUnits.reduce((total, [, unit], index) => total + Number(parts[index + 1] ?? 0) * unit, 0);
  }
  if (!(step > 0)) throw badInput('step', 'must be a duration above zero (30s, 1m, 1h30m) or seconds');
  return step;
}
