// Value kinds for PHOBOS_* variables. Each kind is a zod schema over the raw string the environment
// holds, plus a short "expected" phrase used in error messages ("PHOBOS_X: expected <phrase>").
import { z } from 'zod';

export interface VariableKind<T> {
  schema: z.ZodType<T, string>;
  expected: string;
}

function kind<T>(expected: string, schema: z.ZodType<T, string>): VariableKind<T> {
  return { schema, expected };
}

export const text = kind('a string', z.string());

export const nonEmptyText = kind('a non-empty string', z.string().trim().min(1));

export function boundedText(max: number): VariableKind<string> {
  return kind(`at most ${max} characters`, z.string().max(max));
}

export const url = kind(
  'an absolute http(s) URL',
  z
    .string()
    .trim()
    .refine((value) => {
      try {
        const parsed = new URL(value);
        return parsed.protocol === 'http:' || parsed.protocol === 'https:';
      } catch {
        return false;
      }
    })
    .transform((value) => value.replace(/\/+$/, '')),
);

/** A host name or IP address alone, as a collector's or server's address (no scheme, port or path). */
export const host = kind(
  'a host name or IP address, without scheme or port (e.g. collector or 10.0.0.5)',
  z
    .string()
    .trim()
    .refine((value) => {
      // An IPv6 address, bracketed or not; else a name or IPv4 address of URL-safe characters.
      const ipv6 = value.replace(/^\[(.*)\]$/, '$1');
      if (!ipv6.includes(':')) return /^[A-Za-z0-9._-]+$/.test(value);
      try {
        new URL(`http://[${ipv6}]`);
        return true;
      } catch {
        return false;
      }
    }),
);

export const email = kind('an email address', z.string().trim().pipe(z.email()));

const integerPattern = /^-?\d+$/;

export function integer(min: number, max = Number.MAX_SAFE_INTEGER): VariableKind<number> {
  const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `between ${min} and ${max}`;
  return kind(`an integer ${range}`, z.string().trim().regex(integerPattern).transform(Number).pipe(z.number().int().min(min).max(max)));
}

export const port = integer(1, 65535);

// Accepts the spellings operators use in env files; anything else is an error rather than "false".
const trueWords = ['true', '1', 'yes', 'on'];
const falseWords = ['false', '0', 'no', 'off', ''];
export const boolean = kind(
  'true or false',
  z
    .string()
    .trim()
    .toLowerCase()
    .refine((value) => trueWords.includes(value) || falseWords.includes(value))
    .transform((value) => trueWords.includes(value)),
);

export function oneOf<const T extends readonly [string, ...string[]]>(values: T): VariableKind<T[number]> {
  return kind(`one of ${values.join(', ')}`, z.string().trim().pipe(z.enum(values)));
}

export const commaList = kind(
  'a comma-separated list',
  z.string().transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item.length > 0),
  ),
);

export const urlList = kind(
  'a comma-separated list of http(s) origins or *',
  commaList.schema.refine((items) => items.every((item) => item === '*' || url.schema.safeParse(item).success)),
);

/** `key=value,key=value`, as used by PHOBOS_JWS_PROVIDER_PLUGIN_DATA_TAGS. */
export const keyValueList = kind(
  'comma-separated key=value pairs',
  commaList.schema
    .refine((items) => items.every((item) => /^[^=]+=.*$/.test(item)))
    .transform((items) =>
      Object.fromEntries(
        items.map((item) => {
          const at = item.indexOf('=');
          return [item.slice(0, at).trim(), item.slice(at + 1).trim()];
        }),
      ),
    ),
);

export interface RequestRate {
  /** Requests allowed per window. */
  limit: number;
  /** Window length in seconds. */
  windowSeconds: number;
}

const periodSeconds: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/**
 * PHOBOS_HTTP_RATE_LIMIT: a bare number means requests per second (Phobos); the `N/period` form
 * follows RATE_LIMIT_DEFAULT, where only the period's first letter counts (s, m, h, d), so
 * `100/minute`, `100/min` and `100/m` are the same rate. `0` turns inbound rate limiting off (a
 * Phobos Edge addition, for deployments that limit at Cloudflare's edge instead).
 */
export const requestRate = kind(
  'a number of requests per second (e.g. 60) or a rate such as 100/minute (period s, m, h or d)',
  z
    .string()
    .trim()
    .regex(/^\d+(\s*\/\s*[a-zA-Z]+)?$/)
    .transform((value): RequestRate => {
      const [count, period] = value.split('/').map((part) => part.trim());
      const windowSeconds = period ? periodSeconds[period[0]!.toLowerCase()] : 1;
      return { limit: Number(count), windowSeconds: windowSeconds ?? Number.NaN };
    })
    .refine((rate) => Number.isFinite(rate.windowSeconds)),
);
