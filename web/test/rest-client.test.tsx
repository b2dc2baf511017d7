// The railing client's errors: a problem+json answer becomes an ApiError with the API's detail, code,
// request id and the field at fault, so the page shows the API's own words (and where they belong).
import { describe, expect, it } from 'vitest';
import { ApiError } from '../src/graphql/client';
import { problemError } from '../src/rest/client';

describe('problemError', () => {
  it("carries a problem's detail, code, request id, status and field", () => {
    const error = problemError(400, {
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      code: 'BAD_USER_INPUT',
      detail: 'query: at most 2000 characters',
      field: 'query',
      requestId: 'req-1',
    });
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ message: 'query: at most 2000 characters', code: 'BAD_USER_INPUT', requestId: 'req-1', status: 400, field: 'query' });
  });

  it('names the variable of an upstream that is not configured (503)', () => {
    const error = problemError(503, {
      title: 'Service Unavailable',
      status: 503,
      code: 'SERVICE_UNAVAILABLE',
      detail: 'PHOBOS_PROMETHEUS_URL is not set',
      requestId: 'req-2',
    });
    expect(error.status).toBe(503);
    expect(error.message).toContain('PHOBOS_PROMETHEUS_URL');
  });

  it('falls back to the title, then the status, and to the request id header', () => {
    expect(problemError(502, { title: 'Bad Gateway' }, 'req-h')).toMatchObject({ message: 'Bad Gateway', requestId: 'req-h' });
    expect(problemError(500, undefined).message).toBe('The API answered 500.');
  });
});
