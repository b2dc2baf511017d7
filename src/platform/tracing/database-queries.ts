// Spans for database queries: the Neon driver's HTTP requests (one statement, or a batch run as one
// transaction), installed as the driver's fetch function when tracing is on. A span says what kind
// of statement ran (SELECT, INSERT, …) and on which host, never the SQL's values: the request body
// is only scanned for each statement's first keyword, and the connection string (the
// Neon-Connection-String header, with its password) is never read.
import { SpanStatusCode } from '@opentelemetry/api';
import { endFailed, isTraced, startClientSpan } from './spans';

// The platform's fetch as it was before the tracing library wraps the global one: a query is one
// span, not a database span over an HTTP span.
const unwrappedFetch = globalThis.fetch;

// Every statement of the body is a JSON string value under a "query" key; a value inside a string
// (a parameter, or SQL text) has its quotes escaped, so this matches keys only. Leading blanks
// (JSON-escaped or not) and opening parentheses are skipped.
const statementKeyword = /"query":"(?:\s|\\[nrt]|\()*([A-Za-z]+)/g;

/** The first keyword of each statement of a Neon HTTP request body, upper-cased. */
export function statementKinds(body: unknown): string[] {
  if (typeof body !== 'string') return [];
  return Array.from(body.matchAll(statementKeyword), (match) => match[1]!.toUpperCase());
}

/** The Neon driver's fetch function (neonConfig.fetchFunction), with a span per request. */
export async function fetchWithQuerySpan(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  if (!isTraced()) return unwrappedFetch(input, init);
  const kinds = statementKinds(init?.body);
  const batch = init?.body !== undefined && typeof init.body === 'string' && init.body.startsWith('{"queries"');
  const operation = batch ? 'BATCH' : (kinds[0] ?? 'QUERY');
  const span = startClientSpan(`postgresql ${operation}`, {
    'db.system.name': 'postgresql',
    'db.operation.name': operation,
    'server.address': new URL(input instanceof Request ? input.url : input).hostname,
    ...(batch ? { 'db.operation.batch.size': kinds.length, 'phobos.db.statements': kinds } : {}),
  });
  try {
    const response = await unwrappedFetch(input, init);
    span.setAttribute('http.response.status_code', response.status);
    if (!response.ok) span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${response.status}` });
    span.end();
    return response;
  } catch (error) {
    endFailed(span, error);
    throw error;
  }
}
