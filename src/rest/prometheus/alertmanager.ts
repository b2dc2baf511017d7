// A client of the Alertmanager API v2: the alerts it holds (active, silenced and inhibited). Each
// is returned without `generatorURL` and `receivers`, which name internal hosts and routing.
import { z } from '@hono/zod-openapi';
import { AppError } from '../../errors';
import { fetchUpstream, type UpstreamCall, upstreamJson } from '../upstream';

export interface AlertmanagerClient {
  call: UpstreamCall;
  baseUrl: string;
}

export const alertSchema = z
  .object({
    fingerprint: z.string().openapi({ example: '774a77f1d1fdec82' }),
    labels: z.record(z.string(), z.string()).openapi({ example: { alertname: 'HostDown', severity: 'critical', instance: 'pve1:9100' } }),
    annotations: z.record(z.string(), z.string()).openapi({ example: { summary: 'pve1 is down' } }),
    state: z.enum(['active', 'suppressed', 'unprocessed']).openapi({ description: '`suppressed`: silenced or inhibited.' }),
    startsAt: z.string().openapi({ format: 'date-time' }),
    endsAt: z.string().openapi({ format: 'date-time' }),
    updatedAt: z.string().openapi({ format: 'date-time' }),
    silencedBy: z.array(z.string()).openapi({ description: 'Ids of the silences that mute it.' }),
    inhibitedBy: z.array(z.string()).openapi({ description: 'Fingerprints of the alerts that inhibit it.' }),
  })
  .openapi('Alert');
export type Alert = z.infer<typeof alertSchema>;

const answerSchema = z.array(
  z.object({
    fingerprint: z.string(),
    labels: z.record(z.string(), z.string()),
    annotations: z.record(z.string(), z.string()),
    startsAt: z.string(),
    endsAt: z.string(),
    updatedAt: z.string(),
    status: z.object({ state: z.enum(['active', 'suppressed', 'unprocessed']), silencedBy: z.array(z.string()), inhibitedBy: z.array(z.string()) }),
  }),
);

/** GET /api/v2/alerts: every alert Alertmanager holds. */
export async function alertsOf(client: AlertmanagerClient): Promise<Alert[]> {
  const url = new URL('api/v2/alerts', client.baseUrl.endsWith('/') ? client.baseUrl : `${client.baseUrl}/`);
  const response = await fetchUpstream(client.call, url, { headers: { accept: 'application/json' } });
  if (!response.ok) {
    await response.body?.cancel();
    throw new AppError('BAD_GATEWAY', `${client.call.upstream} refused the request (${response.status})`);
  }
  const parsed = answerSchema.safeParse(await upstreamJson(client.call, response));
  if (!parsed.success) throw new AppError('BAD_GATEWAY', `${client.call.upstream} answered in a shape it does not document`);
  return parsed.data.map(({ status, ...alert }) => ({
    fingerprint: alert.fingerprint,
    labels: alert.labels,
    annotations: alert.annotations,
    state: status.state,
    startsAt: alert.startsAt,
    endsAt: alert.endsAt,
    updatedAt: alert.updatedAt,
    silencedBy: status.silencedBy,
    inhibitedBy: status.inhibitedBy,
  }));
}
