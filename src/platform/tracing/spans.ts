// The one tracer Phobos Edge's own spans come from, and the rule every span site follows: a span is
// started only inside a traced invocation (one with an active span). Untraced code — tracing off,
// or a Durable Object's own isolate context — calls straight through, and the library's tracer
// (which refuses to start a span without its per-invocation configuration) is never asked.
import { type Attributes, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';

const tracer = trace.getTracer('phobos-edge');

export function isTraced(): boolean {
  return trace.getActiveSpan() !== undefined;
}

/** A client span (a call leaving this invocation) under the active span. */
export function startClientSpan(name: string, attributes: Attributes): Span {
  return tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes });
}

export function startInternalSpan(name: string, attributes: Attributes): Span {
  return tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes });
}

/** Ends a span as failed. The error's class only: messages may carry values. */
export function endFailed(span: Span, error: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : 'error' });
  span.end();
}

/** Ends `span` when `result` settles (or now, when it is not a promise), and hands `result` back untouched. */
export function endWhenSettled<T>(span: Span, result: T): T {
  if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
    (result as unknown as PromiseLike<unknown>).then(
      () => span.end(),
      (error: unknown) => endFailed(span, error),
    );
  } else {
    span.end();
  }
  return result;
}
