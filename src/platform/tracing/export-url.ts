// Where spans go (PHOBOS_OTEL_TRACE_HOST, _PORT): an OTLP/HTTP collector's traces endpoint. Phobos
// documents gRPC's 4317 for its Go exporter; a Worker has no gRPC client, so it speaks OTLP over
// HTTP (4318 by default). For PHOBOS_OTEL_TRACE_TYPE=xray the collector is the AWS Distro for
// OpenTelemetry collector, whose OTLP receiver forwards to X-Ray: the Worker's side is the same.
import type { PhobosConfig } from '../../config/load';

export function traceExportUrl(otel: Pick<PhobosConfig['otel'], 'host' | 'port'>): string {
  const host = otel.host ?? 'localhost';
  // An IPv6 address is bracketed in a URL.
  const authority = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${authority}:${otel.port}/v1/traces`;
}
