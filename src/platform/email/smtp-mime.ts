// The message an SMTP DATA command carries (RFC 5322 + MIME): headers, then the text part, or text and
// HTML as multipart/alternative. Parts are base64 (RFC 2045), so no line is too long, 8-bit text
// needs no server extension, and no line can start with "." (the DATA terminator needs no stuffing).
// Header values are single lines: CR and LF never reach the wire (no header injection).

const encoder = new TextEncoder();

function base64Lines(text: string): string {
  const bytes = encoder.encode(text);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return (btoa(binary).match(/.{1,76}/g) ?? []).join('\r\n');
}

const oneLine = (value: string) => value.replace(/[\r\n]+/g, ' ');

/** RFC 2047 encoded-words for a non-ASCII header value (in chunks that stay within a line's limit). */
function headerText(value: string): string {
  const line = oneLine(value);
  if (/^[\x20-\x7e]*$/.test(line)) return line;
  const words: string[] = [];
  let chunk = '';
  for (const char of line) {
    if (encoder.encode(chunk + char).length > 45) {
      words.push(chunk);
      chunk = '';
    }
    chunk += char;
  }
  if (chunk) words.push(chunk);
  return words.map((word) => `=?UTF-8?B?${base64Lines(word)}?=`).join('\r\n ');
}

export interface MimeMessage {
  from: string;
  to: readonly string[];
  subject: string;
  text: string;
  html?: string;
  date?: Date;
}

export function mimeMessage(message: MimeMessage): string {
  const domain = message.from.split('@').pop() ?? 'localhost';
  const headers = [
    `From: ${oneLine(message.from)}`,
    `To: ${message.to.map(oneLine).join(', ')}`,
    `Subject: ${headerText(message.subject)}`,
    `Date: ${(message.date ?? new Date()).toUTCString()}`,
    `Message-ID: <${crypto.randomUUID()}@${oneLine(domain)}>`,
    'MIME-Version: 1.0',
  ];
  const part = (type: string, body: string) =>
    [`Content-Type: ${type}; charset=utf-8`, 'Content-Transfer-Encoding: base64', '', base64Lines(body)].join('\r\n');
  if (message.html === undefined) return [...headers, part('text/plain', message.text)].join('\r\n');
  const boundary = `phobos-${crypto.randomUUID()}`;
  return [
    ...headers,
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    part('text/plain', message.text),
    `--${boundary}`,
    part('text/html', message.html),
    `--${boundary}--`,
  ].join('\r\n');
}
