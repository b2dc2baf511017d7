// Structured JSON logs, one object per line (Workers Logs and `wrangler tail` index JSON fields).
// Hand-written because the usual Node loggers depend on Node streams; what matters here is the
// redaction: no secret, token, password or credential reaches a log line, whatever the caller passes.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const levelOrder: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

const sensitiveKey = /pass(word)?|secret|token|authorization|cookie|api[-_]?key|credential|private|signature|jwt|refresh/i;
// Bearer tokens, JWTs and our API keys, wherever they appear inside a string.
const sensitiveValue = [
  /\bBearer\s+[A-Za-z0-9._~+/-]+=*/gi,
  /\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g,
  /\bphb_[A-Za-z0-9_]+/g,
  /(postgres(?:ql)?:\/\/[^:/@\s]+:)[^@\s]+@/gi,
];

const REDACTED = '[redacted]';

export function redactString(value: string): string {
  let out = value;
  for (const pattern of sensitiveValue) {
    out = out.replace(pattern, (_match, keep?: string) => (typeof keep === 'string' && keep.startsWith('postgres') ? `${keep}${REDACTED}@` : REDACTED));
  }
  return out;
}

/** `errors`: the errors on the way down, so an error that is its own cause (at any remove) is written once. */
function redact(value: unknown, depth = 0, errors: readonly Error[] = []): unknown {
  if (depth > 6) return '[truncated]';
  if (typeof value === 'string') return redactString(value);
  if (value instanceof Error) {
    if (errors.includes(value)) return '[circular]';
    // A wrapper's cause is often the whole story (drizzle's "Failed query" wraps the database's own
    // error), and a database error's code (its SQLSTATE) says which; both go through the same redaction.
    const code = (value as { code?: unknown }).code;
    return {
      name: value.name,
      message: redactString(value.message),
      ...(typeof code === 'string' ? { code: redactString(code) } : typeof code === 'number' ? { code } : {}),
      stack: value.stack ? redactString(value.stack) : undefined,
      ...(value.cause === undefined ? {} : { cause: redact(value.cause, depth + 1, [...errors, value]) }),
    };
  }
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1, errors));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = sensitiveKey.test(key) ? REDACTED : redact(item, depth + 1, errors);
    }
    return out;
  }
  return value;
}

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export type LogSink = (line: string, level: LogLevel) => void;

const consoleSink: LogSink = (line, level) => {
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
  else console.log(line);
};

export function createLogger(options: { level?: LogLevel; fields?: Record<string, unknown>; sink?: LogSink } = {}): Logger {
  const minimum = levelOrder[options.level ?? 'info'];
  const base = options.fields ?? {};
  const sink = options.sink ?? consoleSink;
  const write = (level: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (levelOrder[level] < minimum) return;
    const entry = redact({ time: new Date().toISOString(), level, message, ...base, ...fields });
    sink(JSON.stringify(entry), level);
  };
  return {
    debug: (message, fields) => write('debug', message, fields),
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
    child: (fields) => createLogger({ level: options.level, fields: { ...base, ...fields }, sink }),
  };
}
