// The one reader of the OAuth endpoints' request bodies (/oauth/token, /oauth/revoke,
// /oauth/login). OAuth 2.0 sends parameters as application/x-www-form-urlencoded (RFC 6749 §3.2,
// RFC 7009 §2.1), so nothing else is parsed: a multipart, JSON or text body is refused with 415
// before it is read. Each field is checked before any rule sees it: given once (RFC 6749 §3.1),
// at most `maxFieldLength` characters, and free of control characters. (The whole body is already
// capped by the body-limit middleware.)
import type { Context } from 'hono';
import { textProblem } from '../../domain/text';

/** Longer than any field a client sends here; a subject token of a CI system is 1–2 KiB. */
const maxFieldLength = 8192;

interface FormProblem {
  status: 400 | 415;
  /** The field at fault, when there is one. */
  field?: string;
  message: string;
}

interface FormBody {
  /** The well-formed fields; a field with a problem is left out. */
  fields: Record<string, string>;
  /** The first problem found, if any. */
  problem?: FormProblem;
}

function isFormContentType(header: string | undefined): boolean {
  const [mediaType, ...parameters] = (header ?? '').split(';').map((part) => part.trim().toLowerCase());
  if (mediaType !== 'application/x-www-form-urlencoded') return false;
  // The encoding is UTF-8 (WHATWG URL §5.1); a body that announces another charset would be misread.
  return parameters.every((parameter) => !parameter.startsWith('charset=') || parameter === 'charset=utf-8');
}

export async function readFormBody(c: Context): Promise<FormBody> {
  if (!isFormContentType(c.req.header('content-type'))) {
    return { fields: {}, problem: { status: 415, message: 'The body must be application/x-www-form-urlencoded (UTF-8)' } };
  }
  // No prototype: a field named `__proto__` or `constructor` is just a field.
  const fields = Object.create(null) as Record<string, string>;
  const seen = new Set<string>();
  let problem: FormProblem | undefined;
  const note = (found: FormProblem) => {
    problem ??= found;
  };
  for (const [name, value] of new URLSearchParams(await c.req.text())) {
    if (textProblem(name) || name.length > 100) {
      note({ status: 400, message: 'A field name is malformed' });
      continue;
    }
    if (seen.has(name)) {
      delete fields[name];
      note({ status: 400, field: name, message: `${name}: given more than once` });
      continue;
    }
    seen.add(name);
    if (value.length > maxFieldLength) note({ status: 400, field: name, message: `${name}: longer than ${maxFieldLength} characters` });
    else if (textProblem(value)) note({ status: 400, field: name, message: `${name}: ${textProblem(value)}` });
    else fields[name] = value;
  }
  return problem ? { fields, problem } : { fields };
}
