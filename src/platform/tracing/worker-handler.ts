// Tracing of the Worker's entry points (PHOBOS_OTEL_TRACE_*), through @microlabs/otel-cf-workers:
// a span per request and per cron run, the global fetch traced, spans exported over OTLP/HTTP (JSON)
// to http://<host>:<port>/v1/traces once the invocation is done (in waitUntil, after the response).
//
// Whether to trace is decided once per env object (in practice once per isolate) and kept: with
// tracing off, an invocation costs one WeakMap lookup and goes to the untouched handler — the
// library is never initialised, so the global fetch stays the platform's own and no env, context or
// request is wrapped.
import { instrument, type TraceConfig } from '@microlabs/otel-cf-workers';
import type { WorkerEnv } from '../../env';
import { configFor } from '../../runtime';
import { withTracedDurableObjects } from './durable-object-calls';
import { traceExportUrl } from './export-url';
import { redactingOtlpExporter } from './redaction';

type Handler = Required<Pick<ExportedHandler<WorkerEnv>, 'fetch' | 'scheduled'>>;

const decisions = new WeakMap<object, boolean>();

function tracingEnabled(env: WorkerEnv): boolean {
  let enabled = decisions.get(env);
  if (enabled === undefined) {
    try {
      enabled = configFor(env).otel.enabled;
    } catch {
      // A bad configuration is answered by the app itself (503 naming the variables), untraced.
      enabled = false;
    }
    decisions.set(env, enabled);
  }
  return enabled;
}

// The library reads its configuration per invocation; one object per env, so it is parsed once.
const traceConfigs = new WeakMap<object, TraceConfig>();

function traceConfigFor(env: WorkerEnv): TraceConfig {
  let traceConfig = traceConfigs.get(env);
  if (!traceConfig) {
    traceConfig = {
      exporter: redactingOtlpExporter(traceExportUrl(configFor(env).otel)),
      service: { name: 'phobos-edge' },
      // The Cache API is not used; leaving it unwrapped keeps its calls plain.
      instrumentation: { instrumentGlobalCache: false, instrumentGlobalFetch: true },
    };
    traceConfigs.set(env, traceConfig);
  }
  return traceConfig;
}

/**
 * `handler` with tracing when PHOBOS_OTEL_TRACE_ENABLED is true. The traced path hands the app an
 * env whose Durable Object stubs are traced; the library's own env wrapper (a new object per
 * request, which would defeat the per-env caches) is bypassed by passing the original env through.
 */
export function withTracing(handler: Handler): Handler {
  // The library hands the inner handler its own wrapped env; the original is found by the trigger
  // (request or controller), which it passes through unchanged.
  const originalEnvs = new WeakMap<object, WorkerEnv>();
  let traced: Handler | undefined;
  const tracedHandler = (): Handler => {
    traced ??= instrument<WorkerEnv, unknown, unknown>(
      {
        fetch: (request, env, ctx) => handler.fetch(request, withTracedDurableObjects(originalEnvs.get(request) ?? env), ctx),
        scheduled: (controller, env, ctx) => handler.scheduled(controller, withTracedDurableObjects(originalEnvs.get(controller) ?? env), ctx),
      },
      (env: WorkerEnv) => traceConfigFor(env),
    ) as Handler;
    return traced;
  };
  return {
    fetch(request, env, ctx) {
      if (!tracingEnabled(env)) return handler.fetch(request, env, ctx);
      originalEnvs.set(request, env);
      return tracedHandler().fetch(request, env, ctx);
    },
    scheduled(controller, env, ctx) {
      if (!tracingEnabled(env)) return handler.scheduled(controller, env, ctx);
      originalEnvs.set(controller, env);
      return tracedHandler().scheduled(controller, env, ctx);
    },
  };
}
