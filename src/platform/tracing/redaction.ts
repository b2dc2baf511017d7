// The last look at every span before it leaves the Worker. The library records URLs with their
// query strings (signed download links, OAuth codes and state live there); they are cut to the path
// (an outbound request's to its origin: a webhook receiver's path may be its secret),
// and any attribute whose name suggests a credential is dropped, whatever set it. It is an exporter
// wrapper: the library's `postProcessor` option is accepted but not applied by the version in use.
import { type ExporterConfig, OTLPExporter, type PostProcessorFn } from '@microlabs/otel-cf-workers';
import { SpanKind } from '@opentelemetry/api';

type SpanExporter = Exclude<ExporterConfig, { url: string }>;

const urlAttributes = ['url.full', 'http.url'];
const credentialName = /authorization|cookie|token|secret|password|passwd|api[-_.]?key|signature|credential/i;

/** An outbound URL's path can be the secret itself (a Slack or Teams incoming webhook): its origin only. */
function originOf(value: string): string {
  try {
    return new URL(value).origin;
  } catch {
    return '[redacted]';
  }
}

function withoutQuery(value: string): string {
  const cut = value.search(/[?#]/);
  return cut === -1 ? value : value.slice(0, cut);
}

const redactSpans: PostProcessorFn = (spans) => {
  for (const span of spans) {
    const attributes = span.attributes as Record<string, unknown>;
    for (const name of Object.keys(attributes)) {
      if (name === 'url.query' || credentialName.test(name)) delete attributes[name];
    }
    const outbound = span.kind === SpanKind.CLIENT;
    if (outbound) delete attributes['url.path'];
    for (const name of urlAttributes) {
      const value = attributes[name];
      if (typeof value === 'string') attributes[name] = outbound ? originOf(value) : withoutQuery(value);
    }
  }
  return spans;
};

/** The library's OTLP/HTTP (JSON) exporter to `url`, every batch redacted first. */
export function redactingOtlpExporter(url: string): SpanExporter {
  const otlp = new OTLPExporter({ url });
  return {
    export: (spans, resultCallback) => otlp.export(redactSpans(spans), resultCallback),
    shutdown: () => otlp.shutdown(),
  };
}
