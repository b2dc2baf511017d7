// The pure parts of tracing: where spans are sent, and what a database span may say about a query
// (the kind of each statement, read from the driver's request body without its values).
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load';
import { statementKinds } from '../../src/platform/tracing/database-queries';
import { traceExportUrl } from '../../src/platform/tracing/export-url';

const otelOf = (host: string, port?: string) =>
  loadConfig({ PHOBOS_OTEL_TRACE_ENABLED: 'true', PHOBOS_OTEL_TRACE_HOST: host, ...(port ? { PHOBOS_OTEL_TRACE_PORT: port } : {}) }).otel;

describe('the export URL', () => {
  it("is the collector's OTLP/HTTP traces endpoint, on 4318 unless told", () => {
    expect(traceExportUrl(otelOf('collector'))).toBe('http://collector:4318/v1/traces');
    expect(traceExportUrl(otelOf('10.0.0.5', '55681'))).toBe('http://10.0.0.5:55681/v1/traces');
    expect(traceExportUrl(otelOf('otel-collector.monitoring.svc.cluster.local'))).toBe('http://otel-collector.monitoring.svc.cluster.local:4318/v1/traces');
  });

  it('brackets an IPv6 address, given bare or bracketed', () => {
    expect(traceExportUrl(otelOf('::1'))).toBe('http://[::1]:4318/v1/traces');
    expect(traceExportUrl(otelOf('[fd00::5]'))).toBe('http://[fd00::5]:4318/v1/traces');
  });

  it('is the same for xray: the ADOT collector receives OTLP', () => {
    const otel = loadConfig({ PHOBOS_OTEL_TRACE_ENABLED: 'true', PHOBOS_OTEL_TRACE_TYPE: 'xray', PHOBOS_OTEL_TRACE_HOST: 'adot' }).otel;
    expect(otel.type).toBe('xray');
    expect(traceExportUrl(otel)).toBe('http://adot:4318/v1/traces');
  });

  it('refuses a host with a scheme, a port or a path, naming the variable', () => {
    for (const host of ['http://collector', 'collector:4318', 'collector/v1', 'two words']) {
      expect(() => otelOf(host), host).toThrow(/PHOBOS_OTEL_TRACE_HOST: expected a host name or IP address, without scheme or port/);
    }
    expect(() => otelOf('collector', '70000')).toThrow(/PHOBOS_OTEL_TRACE_PORT/);
    expect(() => loadConfig({ PHOBOS_OTEL_TRACE_ENABLED: 'true', PHOBOS_OTEL_TRACE_HOST: 'c', PHOBOS_OTEL_TRACE_TYPE: 'jaeger' })).toThrow(
      /PHOBOS_OTEL_TRACE_TYPE/,
    );
  });
});

describe('statement kinds', () => {
  it('names each statement of a request body by its first keyword, never its values', () => {
    const one = JSON.stringify({ query: 'select "id" from "users" where "email" = $1', params: ['a@b.c'] });
    expect(statementKinds(one)).toEqual(['SELECT']);
    const batch = JSON.stringify({
      queries: [
        { query: '\n  with moved as (update jobs set status = $1) select 1', params: ['x'] },
        { query: '(select 1) union (select 2)', params: [] },
        { query: 'insert into t values ($1)', params: ['"query":"drop table users'] },
      ],
    });
    expect(statementKinds(batch)).toEqual(['WITH', 'SELECT', 'INSERT']);
  });

  it('is empty for a body it cannot read', () => {
    expect(statementKinds(undefined)).toEqual([]);
    expect(statementKinds(new Uint8Array([1, 2]))).toEqual([]);
    expect(statementKinds('{"nothing":1}')).toEqual([]);
  });
});
