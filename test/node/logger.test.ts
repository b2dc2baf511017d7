import { describe, expect, it } from 'vitest';
import { createLogger, redactString } from '../../src/platform/logger';

function capture() {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', sink: (line) => lines.push(line) });
  return { logger, lines };
}

describe('structured logger', () => {
  it('writes one JSON object per line with level, message and fields', () => {
    const { logger, lines } = capture();
    logger.child({ requestId: 'r-1' }).info('request', { status: 200 });
    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({ level: 'info', message: 'request', requestId: 'r-1', status: 200 });
    expect(typeof entry.time).toBe('string');
  });

  it('redacts secret-looking keys at any depth', () => {
    const { logger, lines } = capture();
    logger.info('login', { user: 'ann', password: 'hunter2', nested: { apiKey: 'k', refresh_token: 't', headers: { Authorization: 'Bearer abc' } } });
    const text = lines[0]!;
    for (const secret of ['hunter2', '"k"', '"t"', 'Bearer abc']) expect(text).not.toContain(secret);
    expect(JSON.parse(text).user).toBe('ann');
  });

  it('redacts tokens and credentials embedded in strings and errors', () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl';
    expect(redactString(`token ${jwt} here`)).toBe('token [redacted] here');
    expect(redactString('Authorization: Bearer abc.def')).toBe('Authorization: [redacted]');
    expect(redactString('key phb_live_AbC123 used')).toBe('key [redacted] used');
    expect(redactString('postgresql://phobos:pa55@127.0.0.1:5432/db')).toBe('postgresql://phobos:[redacted]@127.0.0.1:5432/db');
    const { logger, lines } = capture();
    logger.error('failed', { error: new Error(`connect postgres://u:topsecret@db/x failed`) });
    expect(lines[0]).not.toContain('topsecret');
  });

  it('drops entries below the configured level', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', sink: (line) => lines.push(line) });
    logger.info('quiet');
    logger.warn('loud');
    expect(lines.map((line) => JSON.parse(line).message)).toEqual(['loud']);
  });
});
