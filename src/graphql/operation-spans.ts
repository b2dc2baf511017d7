// A span per GraphQL operation (PHOBOS_OTEL_TRACE_ENABLED), named `<type> <name>` (`mutation
// createOrganization`, `query anonymous`) with the operation's type and name as attributes, and
// active while it executes, so the database queries, Durable Object calls and fetches of its
// resolvers are its children. Variables and the document's text are never recorded (they carry
// values: passwords, tokens). Installed only in the traced server instance (see server.ts).
import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import { type DocumentNode, getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { isTraced, startInternalSpan } from '../platform/tracing/spans';
import type { GraphQLContext } from './context';

function operationSpan(document: DocumentNode, operationName: string | null | undefined) {
  const operation = getOperationAST(document, operationName);
  const type = operation?.operation ?? 'unknown';
  const name = operation?.name?.value;
  return startInternalSpan(`${type} ${name ?? 'anonymous'}`, {
    'graphql.operation.type': type,
    ...(name ? { 'graphql.operation.name': name } : {}),
  });
}

function endWithErrors(span: ReturnType<typeof operationSpan>, result: unknown): void {
  const errors = (result as { errors?: readonly unknown[] } | undefined)?.errors;
  if (errors && errors.length > 0) {
    span.setAttribute('graphql.errors.count', errors.length);
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}

export function useOperationSpans(): Plugin<GraphQLContext> {
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      if (!isTraced()) return;
      const span = operationSpan(args.document, args.operationName);
      const active = trace.setSpan(context.active(), span);
      setExecuteFn((executionArgs) => context.with(active, () => executeFn(executionArgs)));
      return { onExecuteDone: ({ result }) => endWithErrors(span, result) };
    },
    // A subscription's span covers setting it up (authorization, the first reads), not its events.
    onSubscribe({ args, subscribeFn, setSubscribeFn }) {
      if (!isTraced()) return;
      const span = operationSpan(args.document, args.operationName);
      const active = trace.setSpan(context.active(), span);
      setSubscribeFn((subscriptionArgs) => context.with(active, () => subscribeFn(subscriptionArgs)));
      return { onSubscribeResult: ({ result }) => endWithErrors(span, result) };
    },
  };
}
