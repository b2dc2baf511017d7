// The smtp plugin over the Workers TCP socket API (`cloudflare:sockets`), through worker-mailer.
// Transport security, as Phase's SMTP_USE_TLS / SMTP_USE_SSL (one or the other, never both), with the
// Phobos variables (only `..._DISABLE_TLS` exists there): port 465 is implicit TLS (SMTPS, RFC 8314),
// any other port STARTTLS; `..._DISABLE_TLS=true` is plain text on any port.
import { LogLevel, WorkerMailer, type WorkerMailerOptions } from 'worker-mailer';
import { EmailRefusedError, type EmailMessage, type EmailTransport } from './email-client';

export type SmtpSecurity = 'implicit_tls' | 'starttls' | 'none';

/** Port 465 (SMTP submission over implicit TLS) speaks TLS from the first byte; others upgrade. */
export function smtpSecurityFor(port: number, disableTls: boolean): SmtpSecurity {
  if (disableTls) return 'none';
  return port === 465 ? 'implicit_tls' : 'starttls';
}

export interface SmtpOptions {
  host: string;
  port: number;
  security: SmtpSecurity;
  from: string;
  username?: string;
  password?: string;
  /** Per connect and per server reply. */
  timeoutMs?: number;
}

// An SMTP reply inside worker-mailer's error messages ("Failed to plain authentication: 535 …").
const smtpReply = /(?:^|[\s:])([45]\d\d[ -][^\r\n]*)/;

export function createSmtpTransport(options: SmtpOptions): EmailTransport {
  const mailer: WorkerMailerOptions = {
    host: options.host,
    port: options.port,
    secure: options.security === 'implicit_tls',
    startTls: options.security === 'starttls',
    ...(options.username ? { credentials: { username: options.username, password: options.password ?? '' }, authType: ['plain', 'login', 'cram-md5'] } : {}),
    // Its own logging writes the conversation, AUTH lines included, to the console: off. We log.
    logLevel: LogLevel.NONE,
    socketTimeoutMs: options.timeoutMs ?? 15_000,
    responseTimeoutMs: options.timeoutMs ?? 15_000,
  };
  return {
    type: 'smtp',
    async deliver(message: EmailMessage) {
      try {
        await WorkerMailer.send(mailer, {
          from: options.from,
          to: [...message.to],
          subject: message.subject,
          text: message.text,
          ...(message.html === undefined ? {} : { html: message.html }),
        });
      } catch (error) {
        const reply = error instanceof Error ? smtpReply.exec(error.message)?.[1] : undefined;
        if (reply) throw new EmailRefusedError('smtp', reply.trim());
        throw error;
      }
    },
  };
}
