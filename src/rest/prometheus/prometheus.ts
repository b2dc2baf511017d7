// A client of the Prometheus HTTP API (instant and range queries). PromQL travels only as a form
// parameter of a POST (URL-encoded by URLSearchParams), never spliced into a URL or an expression.
// Prometheus's own error answers are mapped: `bad_data` (a PromQL syntax error, a bad parameter) is
// the caller's 400 naming the parameter Prometheus names; anything else is 502.
import { z } from '@hono/zod-openapi';
import { AppError, badInput } from '../../errors';
import { fetchUpstream, type UpstreamCall, upstreamJson } from '../upstream';

export interface PrometheusClient {
  call: UpstreamCall;
  /** Base URL of the server (a path prefix is kept: `https://host/prometheus`). */
  baseUrl: string;
}

const sample = z.tuple([z.number(), z.string()]).openapi({ description: '`[unix time in seconds, value as a string]`', example: [1767225600, '1'] });
const labels = z
  .record(z.string(), z.string())
  .openapi({ description: "The series' labels.", example: { __name__: 'up', instance: '10.0.0.1:9100', job: 'node' } });

/** The `data` of a successful query, as Prometheus answers it. */
export const prometheusDataSchema = z
  .object({
    resultType: z.enum(['vector', 'matrix', 'scalar', 'string']),
    result: z.union([z.array(z.object({ metric: labels, value: sample.optional(), values: z.array(sample).optional() })), sample]),
  })
  .openapi('PrometheusQueryData', {
    description: '`vector`: `[{ metric, value }]`; `matrix` (range queries): `[{ metric, values }]`; `scalar` and `string`: one `[time, value]` pair.',
  });
export type PrometheusData = z.infer<typeof prometheusDataSchema>;

const answerSchema = z.union([
  z.object({ status: z.literal('success'), data: prometheusDataSchema, warnings: z.array(z.string()).optional() }),
  z.object({ status: z.literal('error'), errorType: z.string(), error: z.string() }),
]);

export interface PrometheusAnswer {
  data: PrometheusData;
  warnings: string[];
}

/** POST /api/v1/query or /api/v1/query_range with the given parameters. */
export async function queryPrometheus(
  client: PrometheusClient,
  endpoint: 'query' | 'query_range',
  parameters: Record<string, string>,
): Promise<PrometheusAnswer> {
  const url = new URL(`api/v1/${endpoint}`, client.baseUrl.endsWith('/') ? client.baseUrl : `${client.baseUrl}/`);
  const response = await fetchUpstream(client.call, url, { method: 'POST', body: new URLSearchParams(parameters) });
  const parsed = answerSchema.safeParse(await upstreamJson(client.call, response));
  if (!parsed.success) throw new AppError('BAD_GATEWAY', `${client.call.upstream} answered in a shape it does not document (${response.status})`);
  const answer = parsed.data;
  if (answer.status === 'success') return { data: answer.data, warnings: answer.warnings ?? [] };
  if (answer.errorType === 'bad_data') {
    // `invalid parameter "query": 1:4: parse error: …`: the caller's input, safe to show them.
    const named = /^invalid parameter "(\w+)": (.*)$/s.exec(answer.error);
    const field = named?.[1] && named[1] in parameters ? named[1] : 'query';
    throw badInput(field, `${client.call.upstream} rejected it: ${named?.[2] ?? answer.error}`);
  }
  throw new AppError('BAD_GATEWAY', `${client.call.upstream} could not run the query (${answer.errorType})`);
}
