// The plunk plugin: Plunk's transactional send API (`POST <endpoint>/v1/send`, bearer API key). Plunk
// renders `body` as HTML, so a text-only message goes as escaped text with its line breaks kept.
import { EmailRefusedError, type EmailMessage, type EmailTransport } from './email-client';

export interface PlunkOptions {
  apiKey: string;
  /** Default `https://api.useplunk.com`. */
  endpoint?: string;
  from?: string;
  timeoutMs?: number;
}

const htmlOfText = (text: string) =>
  `<pre style="font-family: inherit; white-space: pre-wrap">${text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)}</pre>`;

export function createPlunkTransport(options: PlunkOptions): EmailTransport {
  const endpoint = (options.endpoint ?? 'https://api.useplunk.com').replace(/\/+$/, '');
  return {
    type: 'plunk',
    async deliver(message: EmailMessage) {
      const response = await fetch(`${endpoint}/v1/send`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${options.apiKey}` },
        body: JSON.stringify({
          to: message.to.length === 1 ? message.to[0] : [...message.to],
          subject: message.subject,
          body: message.html ?? htmlOfText(message.text),
          ...(options.from ? { from: options.from } : {}),
        }),
        signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
      });
      const answer = (await response.json().catch(() => ({}))) as { success?: unknown; message?: unknown; error?: unknown };
      if (response.ok && answer.success !== false) return;
      const text = typeof answer.message === 'string' ? answer.message : typeof answer.error === 'string' ? answer.error : '';
      throw new EmailRefusedError('plunk', `HTTP ${response.status}${text ? `: ${text}` : ''}`);
    },
  };
}
