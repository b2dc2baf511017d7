// A local OTLP/HTTP trace receiver, as a collector's receiver answers: POST /v1/traces with an
// ExportTraceServiceRequest in OTLP's JSON encoding (what the Worker's exporter sends; ids as hex,
// attributes as typed AnyValues), answered 200 with an empty ExportTraceServiceResponse. Anything
// else is refused (404 for another path or method, 415 for another encoding, 400 for a body that
// is not a request), so a malformed export fails the tests that read the spans.
import { createServer } from 'node:http';
import { listenOn, readBody, sendJson } from '../../scripts/local-stack/http-json';

type AnyValue = { stringValue?: string; boolValue?: boolean; intValue?: number | string; doubleValue?: number; arrayValue?: { values?: AnyValue[] } };

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** OTLP's SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  attributes: Record<string, unknown>;
  status?: { code?: number };
  /** service.name of the resource it came with. */
  service?: string;
}

export interface OtlpReceiver {
  url: string;
  port: number;
  spans(): ReceivedSpan[];
  /** Every request body received, as sent. */
  bodies(): string[];
  /** Answer exports with this status from now on (a collector that is down or refusing). */
  answerWith(status: number): void;
  /** Waits until `predicate` holds for the spans received, or fails after `timeoutMs`. */
  waitFor(predicate: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

function plainValue(value: AnyValue | undefined): unknown {
  if (!value) return undefined;
  if ('stringValue' in value) return value.stringValue;
  if ('boolValue' in value) return value.boolValue;
  if ('intValue' in value) return Number(value.intValue);
  if ('doubleValue' in value) return value.doubleValue;
  if ('arrayValue' in value) return (value.arrayValue?.values ?? []).map(plainValue);
  return undefined;
}

function attributesOf(list: { key: string; value: AnyValue }[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((attribute) => [attribute.key, plainValue(attribute.value)]));
}

interface ExportRequest {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value: AnyValue }[] };
    scopeSpans?: { spans?: (Omit<ReceivedSpan, 'attributes' | 'service'> & { attributes?: { key: string; value: AnyValue }[] })[] }[];
  }[];
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const bodies: string[] = [];
  let status = 200;
  const server = createServer(async (req, res) => {
    if (req.method !== 'POST' || req.url !== '/v1/traces') return sendJson(res, 404, { message: 'not found' });
    if (!req.headers['content-type']?.startsWith('application/json')) return sendJson(res, 415, { message: 'JSON only' });
    const body = await readBody(req, 16 * 1024 * 1024);
    bodies.push(body);
    let request: ExportRequest;
    try {
      request = JSON.parse(body) as ExportRequest;
      if (!Array.isArray(request.resourceSpans)) throw new Error('no resourceSpans');
    } catch {
      return sendJson(res, 400, { message: 'not an ExportTraceServiceRequest' });
    }
    if (status !== 200) return sendJson(res, status, { message: 'refused' });
    for (const resourceSpans of request.resourceSpans ?? []) {
      const service = attributesOf(resourceSpans.resource?.attributes)['service.name'] as string | undefined;
      for (const scope of resourceSpans.scopeSpans ?? []) {
        for (const span of scope.spans ?? []) spans.push({ ...span, attributes: attributesOf(span.attributes), service });
      }
    }
    sendJson(res, 200, {});
  });
  const { url, port } = await listenOn(server, {});
  return {
    url,
    port,
    spans: () => [...spans],
    bodies: () => [...bodies],
    answerWith: (next) => {
      status = next;
    },
    async waitFor(predicate, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(spans)) {
        if (Date.now() > deadline) throw new Error(`spans awaited did not arrive; received: ${spans.map((span) => span.name).join(', ')}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return [...spans];
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
