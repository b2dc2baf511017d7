// Authorization rows of the REST API's own routes: its OpenAPI document and reference page, and the
// credential check in front of everything under /api/v1.
import { authenticated, restOutcome, same, type Row } from './world';

export const graphqlRows: Record<string, Row> = {};

export const restRows: Record<string, Row> = {
  // Public, like a discovery document: they describe the API's shape, never anyone's data, and a
  // client reads them before it has a credential.
  'GET /api/docs/openapi.json': { run: (a) => restOutcome(a, 'GET', '/api/docs/openapi.json'), expected: same('ok') },
  'GET /api/docs': { run: (a) => restOutcome(a, 'GET', '/api/docs'), expected: same('ok') },
  // The middleware on /api/v1/*: an unknown path is 401 without credentials, 404 with them.
  'ALL /api/v1/*': { run: (a) => restOutcome(a, 'DELETE', '/api/v1/no-such-route'), expected: authenticated('NOT_FOUND') },
};
