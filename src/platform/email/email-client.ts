// The one interface every email plugin (PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE: smtp | ses | plunk | empty)
// implements, and the sender around it that every caller uses: it appends the configured footer and
// logs as Phase documents its email gateway — subject and recipients at debug level on success; the
// recipients and the server's own error (`535 Authentication credentials invalid`) at error level when
// the peer refused; the recipients and the message of anything unexpected (timeouts, connection
// errors). Never a body or a credential: plugins put only the peer's answer into their errors.

import type { Logger } from '../logger';

export interface EmailMessage {
  to: readonly string[];
  subject: string;
  text: string;
  html?: string;
}

/** One plugin: delivers a message (footer already appended) or throws. */
export interface EmailTransport {
  readonly type: 'smtp' | 'ses' | 'plunk' | 'empty';
  deliver(message: EmailMessage): Promise<void>;
}

/**
 * The peer answered and refused: an SMTP reply (`535 …`), or the HTTP API's error. `reply` is the
 * peer's answer as it gave it, which is what an operator needs to fix the configuration.
 */
export class EmailRefusedError extends Error {
  constructor(
    readonly transport: EmailTransport['type'],
    readonly reply: string,
  ) {
    super(`${transport} refused the message: ${reply}`);
    this.name = 'EmailRefusedError';
  }
}

export interface EmailSender {
  readonly type: EmailTransport['type'];
  /** Delivers now (callers outside the email outbox should enqueue instead: src/domain/notifications). */
  sendEmail(message: EmailMessage): Promise<void>;
}

/** Appends the footer after a signature separator (RFC 3676's "-- "), to the text and the HTML part. */
function withFooter(message: EmailMessage, footer: string | undefined): EmailMessage {
  if (!footer) return message;
  const html = message.html === undefined ? undefined : `${message.html}<hr><p>${escapeHtml(footer).replaceAll('\n', '<br>')}</p>`;
  return { ...message, text: `${message.text}\n\n-- \n${footer}`, ...(html === undefined ? {} : { html }) };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function createEmailSender(transport: EmailTransport, options: { footer?: string; logger: Logger }): EmailSender {
  const { logger } = options;
  return {
    type: transport.type,
    async sendEmail(message) {
      if (message.to.length === 0) throw new Error('an email needs at least one recipient');
      const recipients = [...message.to];
      try {
        await transport.deliver(withFooter(message, options.footer));
      } catch (error) {
        if (error instanceof EmailRefusedError) {
          logger.error(`email not sent: ${error.transport} error`, { emailTransport: error.transport, recipients, serverError: error.reply });
        } else {
          logger.error('email not sent: unexpected error', { emailTransport: transport.type, recipients, error: messageOf(error) });
        }
        throw error;
      }
      logger.debug(transport.type === 'empty' ? 'email not sent: the email plugin is empty (disabled)' : 'email sent', {
        emailTransport: transport.type,
        subject: message.subject,
        recipients,
      });
    },
  };
}

/** An error's message alone (never its stack or fields, which could hold what was being sent). */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
