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

  it("logs an error's cause and code, redacted as the error is", () => {
    const { logger, lines } = capture();
    const database = Object.assign(new Error('deadlock detected; auth was Bearer s3cr3t'), { code: '40P01' });
    logger.warn('not written', { error: new Error('Failed query: update jobs …', { cause: database }) });
    const { error } = JSON.parse(lines[0]!) as { error: { message: string; cause: { message: string; code: string } } };
    expect(error.message).toBe('Failed query: update jobs …');
    expect(error.cause).toMatchObject({ message: 'deadlock detected; auth was [redacted]', code: '40P01' });
    expect(lines[0]).not.toContain('s3cr3t');
  });

  it('redacts a code as it redacts a message, and writes an error that is its own cause once', () => {
    const { logger, lines } = capture();
    const looped: Error = Object.assign(new Error('looped'), { code: 'Bearer abc.def' });
    looped.cause = new Error('inner', { cause: looped });
    logger.error('odd', { error: looped });
    expect(lines[0]).not.toContain('abc.def');
    const { error } = JSON.parse(lines[0]!) as { error: { code: string; cause: { message: string; cause: unknown } } };
    expect(error.code).toBe('[redacted]');
    expect(error.cause).toMatchObject({ message: 'inner', cause: '[circular]' });
  });

  it('drops entries below the configured level', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', sink: (line) => lines.push(line) });
    logger.info('quiet');
    logger.warn('loud');
    expect(lines.map((line) => JSON.parse(line).message)).toEqual(['loud']);
  });
});
