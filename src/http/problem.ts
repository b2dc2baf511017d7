// RFC 9457 problem details, the body of every REST error. `code` is the stable machine-readable
// identifier shared with GraphQL's `extensions.code`; `type` points at its entry in the error reference (README, "Errors").
import { type AppError, errorCodes, type ErrorCode } from '../errors';

export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  requestId: string;
  instance?: string;
  field?: string;
  [extension: string]: unknown;
}

const problemContentType = 'application/problem+json';

function problemFor(error: AppError, requestId: string, instance?: string): ProblemDetails {
  return {
    type: `/docs/errors#${error.code.toLowerCase()}`,
    title: errorCodes[error.code].title,
    status: error.status,
    detail: error.message,
    code: error.code,
    requestId,
    ...(instance ? { instance } : {}),
    ...(error.options.field ? { field: error.options.field } : {}),
    ...(error.options.details ?? {}),
  };
}

export function problemResponse(error: AppError, requestId: string, instance?: string): Response {
  // The error response replaces whatever the route had set, so the request id is added here too.
  const headers = new Headers({ 'content-type': problemContentType, 'x-request-id': requestId, ...error.options.headers });
  return new Response(JSON.stringify(problemFor(error, requestId, instance)), { status: error.status, headers });
}
