// GraphQL errors speak the same closed set of codes as REST (src/errors.ts), in `extensions.code`
// (and `extensions.field` when an input is at fault). Two steps, both wired into yoga in server.ts:
//
// 1. `maskError` (yoga's maskedErrors hook) turns what resolvers throw into client errors: an
//    AppError keeps its message and code; anything else is a bug or an outage and becomes
//    "Unexpected error." with code INTERNAL — its message could carry SQL, hostnames or data.
// 2. `useErrorReporting` sees the final result with the request's context: it logs every masked
//    error's real cause through the request logger (so the log line carries the request id), puts
//    the request id into the masked error for the client to quote, and gives errors that GraphQL
//    itself raised (syntax, validation, variable coercion) the code BAD_USER_INPUT. Anonymous
//    callers get validation messages without graphql-js's "Did you mean …?" field suggestions,
//    which would let a stranger spell out the schema by trial and error.
// 3. `useOpaqueParseErrors` answers a request whose JSON does not parse with a fixed message: the
//    parser's own words describe the input back to whoever sent it and help nobody else.
import { PothosSchemaError, PothosValidationError } from '@pothos/core';
import { GraphQLError, type GraphQLErrorOptions } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { AppError, errorCodes, type ErrorCode } from '../errors';
import type { GraphQLContext } from './context';

export const unexpectedErrorMessage = 'Unexpected error.';

/** Masked errors and what really happened, until the result is reported. */
const unexpectedCauses = new WeakMap<GraphQLError, unknown>();

/** The innermost cause: graphql-js wraps resolver errors (sometimes twice) in GraphQLErrors. */
function rootCause(error: unknown): unknown {
  let current = error;
  while (current instanceof GraphQLError && current.originalError) current = current.originalError;
  return current;
}

function locationOf(error: unknown): GraphQLErrorOptions {
  if (!(error instanceof GraphQLError)) return {};
  return { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path };
}

function appErrorExtensions(error: AppError): Record<string, unknown> {
  return {
    code: error.code,
    ...(error.options.field ? { field: error.options.field } : {}),
    ...(error.options.details ?? {}),
    // yoga sends `http` as the response's status and headers (e.g. Retry-After) and strips it from
    // the body. A body too large is refused as such (413), whichever layer found it too large.
    ...(error.options.headers || error.code === 'PAYLOAD_TOO_LARGE'
      ? { http: { ...(error.options.headers ? { headers: error.options.headers } : {}), ...(error.code === 'PAYLOAD_TOO_LARGE' ? { status: 413 } : {}) } }
      : {}),
  };
}

export function clientError(message: string, code: ErrorCode, extensions: Record<string, unknown> = {}, options: GraphQLErrorOptions = {}): GraphQLError {
  return new GraphQLError(message, { ...options, extensions: { code, ...extensions } });
}

/** yoga's maskedErrors.maskError: see the header. */
export function maskError(error: unknown, message: string): Error {
  const cause = rootCause(error);
  if (cause instanceof AppError) {
    return new GraphQLError(cause.message, { ...locationOf(error), extensions: appErrorExtensions(cause) });
  }
  // Pothos rejects malformed arguments (a bad global id, a negative `first`) with this error.
  if (cause instanceof PothosValidationError) return clientError(cause.message, 'BAD_USER_INPUT', {}, locationOf(error));
  // A GraphQLError raised without a cause comes from GraphQL or yoga judging the request — except
  // Pothos's schema errors (a GraphQLError too), raised when the schema itself is wrong: a bug.
  if (cause instanceof GraphQLError && !(cause instanceof PothosSchemaError)) return withKnownCode(cause);
  const masked = clientError(message, 'INTERNAL', {}, locationOf(error));
  unexpectedCauses.set(masked, cause);
  return masked;
}

const codesByStatus: Partial<Record<number, ErrorCode>> = {
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

/** The error with a code from the closed set; GraphQL's and yoga's own judgements are the client's fault. */
function withKnownCode(error: GraphQLError): GraphQLError {
  const code = error.extensions.code;
  if (typeof code === 'string' && code in errorCodes) return error;
  const http = error.extensions.http as { status?: number } | undefined;
  const known = (http?.status && codesByStatus[http.status]) || 'BAD_USER_INPUT';
  return new GraphQLError(error.message, { ...locationOf(error), extensions: { ...error.extensions, code: known } });
}

type ReportedResult = { errors?: readonly GraphQLError[] } & Record<string, unknown>;

function isResult(value: unknown): value is ReportedResult {
  return typeof value === 'object' && value !== null && !(Symbol.asyncIterator in value);
}

/** graphql-js ends validation and coercion messages with its guesses: `… Did you mean "name"?` */
const suggestion = / Did you mean .*$/s;

function withoutSuggestions(error: GraphQLError): GraphQLError {
  if (!suggestion.test(error.message)) return error;
  return new GraphQLError(error.message.replace(suggestion, ''), { ...locationOf(error), extensions: error.extensions });
}

/** Logs masked errors with the request's logger and id, and codes every other error. */
export function useErrorReporting(): Plugin<Record<string, unknown>, GraphQLContext> {
  return {
    onResultProcess({ result, setResult, serverContext }) {
      const anonymous = serverContext.principal.kind === 'anonymous';
      const report = (single: ReportedResult): ReportedResult => {
        if (!single.errors?.length) return single;
        const errors = single.errors.map((error) => {
          if (!unexpectedCauses.has(error)) return anonymous ? withoutSuggestions(withKnownCode(error)) : withKnownCode(error);
          serverContext.logger.error('graphql operation failed', { error: unexpectedCauses.get(error), path: error.path?.join('.') });
          return clientError(error.message, 'INTERNAL', { requestId: serverContext.requestId }, locationOf(error));
        });
        return { ...single, errors };
      };
      if (Array.isArray(result)) setResult(result.map((single) => (isResult(single) ? report(single) : single)) as typeof result);
      else if (isResult(result)) setResult(report(result) as typeof result);
    },
  };
}

/** Whether a request-parsing failure is JSON that did not parse (yoga wraps the POST body's, not the query string's). */
function isJsonSyntaxError(error: unknown): boolean {
  if (error instanceof SyntaxError) return true;
  const original = error instanceof GraphQLError ? (error.extensions.originalError as { name?: string } | undefined) : undefined;
  return original?.name === 'SyntaxError';
}

/** See the header (3). */
export function useOpaqueParseErrors(): Plugin<Record<string, unknown>, GraphQLContext> {
  return {
    onRequestParse({ request, requestParser, setRequestParser }) {
      if (!requestParser) return;
      const where = request.method === 'GET' ? 'the variables or extensions parameter' : 'request body';
      setRequestParser(async (parsed) => {
        try {
          return await requestParser(parsed);
        } catch (error) {
          if (isJsonSyntaxError(error)) throw clientError(`${where} is not valid JSON`, 'BAD_USER_INPUT', { http: { status: 400 } });
          throw error;
        }
      });
    },
  };
}
