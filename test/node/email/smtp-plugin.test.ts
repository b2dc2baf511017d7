// The smtp plugin's own code (src/platform/email/smtp.ts) against a real SMTP server (smtp-server),
// over a Node implementation of `cloudflare:sockets` (test/support/node-sockets.ts) so TLS can
// trust the run's self-signed certificate: AUTH, STARTTLS, implicit TLS, refusals and their logs.
// (The Worker's own sockets are exercised end to end by notifications-e2e.test.ts, in plain text.)
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEmailSender, EmailRefusedError } from '../../../src/platform/email/email-client';
import { createSmtpTransport, smtpSecurityFor, type SmtpSecurity } from '../../../src/platform/email/smtp';
import { createLogger, type LogLevel } from '../../../src/platform/logger';
import { nodeSockets } from '../../support/node-sockets';
import { selfSignedCertificate, startSmtpServer, type TestCertificate, type TestSmtpServer } from '../../support/smtp-server';

const account = { username: 'phobos-mailer', password: 's3cret-smtp-password' };
const secretBody = 'the body of the message, which no log line may contain';
let certificate: TestCertificate;
const servers: TestSmtpServer[] = [];

beforeAll(() => {
  certificate = selfSignedCertificate();
});
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

function capture() {
  const lines: { level: LogLevel; entry: Record<string, unknown>; line: string }[] = [];
  const logger = createLogger({ level: 'debug', sink: (line, level) => lines.push({ level, line, entry: JSON.parse(line) as Record<string, unknown> }) });
  return { lines, logger };
}

async function server(tls: 'starttls' | 'implicit' | 'none', withAccount = true) {
  const started = await startSmtpServer({ tls, certificate, ...(withAccount ? { account } : {}) });
  servers.push(started);
  return started;
}

function sender(port: number, security: SmtpSecurity, logger = capture().logger, password = account.password, footer?: string) {
  const transport = createSmtpTransport({
    host: '127.0.0.1',
    port,
    security,
    from: 'phobos@example.com',
    username: account.username,
    password,
    timeoutMs: 3_000,
    connect: nodeSockets({ ca: certificate.cert }),
  });
  return createEmailSender(transport, { logger, footer });
}

afterEach(() => {
  for (const s of servers) s.received.length = 0;
});

describe('smtp plugin', () => {
  it('derives implicit TLS from port 465, STARTTLS elsewhere, and plain text only with DISABLE_TLS', () => {
    expect(smtpSecurityFor(465, false)).toBe('implicit_tls');
    expect(smtpSecurityFor(587, false)).toBe('starttls');
    expect(smtpSecurityFor(25, false)).toBe('starttls');
    expect(smtpSecurityFor(465, true)).toBe('none');
    expect(smtpSecurityFor(587, true)).toBe('none');
  });

  it('delivers over STARTTLS with a correct login, with the footer, and logs subject and recipients at debug level', async () => {
    const smtp = await server('starttls');
    const { lines, logger } = capture();
    await sender(smtp.port, 'starttls', logger, account.password, 'Sent by Phobos — acme').sendEmail({
      to: ['alice@example.com', 'bob@example.com'],
      subject: 'Approval requested: déploiement',
      text: secretBody,
      html: '<p>html part</p>',
    });
    expect(smtp.received).toHaveLength(1);
    const [mail] = smtp.received;
    expect(mail!.to).toEqual(['alice@example.com', 'bob@example.com']);
    expect(mail!.from).toBe('phobos@example.com');
    expect(mail!.subject).toBe('Approval requested: déploiement');
    expect(mail!.text).toBe(`${secretBody}\n\n-- \nSent by Phobos — acme`);
    expect(mail!.html).toContain('<p>html part</p><hr><p>Sent by Phobos — acme</p>');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.level).toBe('debug');
    expect(lines[0]!.entry).toMatchObject({
      message: 'email sent',
      subject: 'Approval requested: déploiement',
      recipients: ['alice@example.com', 'bob@example.com'],
    });
    expect(lines[0]!.line).not.toContain(secretBody);
  });

  it('delivers over implicit TLS', async () => {
    const smtp = await server('implicit');
    await sender(smtp.port, 'implicit_tls').sendEmail({ to: ['carol@example.com'], subject: 'over TLS', text: 'hello' });
    expect(smtp.received.map((mail) => [mail.to, mail.subject, mail.text])).toEqual([[['carol@example.com'], 'over TLS', 'hello']]);
  });

  it('delivers in plain text when TLS is disabled', async () => {
    const smtp = await server('none');
    await sender(smtp.port, 'none').sendEmail({ to: ['dave@example.com'], subject: 'plain', text: 'hello' });
    expect(smtp.received).toHaveLength(1);
  });

  it('logs a wrong password as the server’s 535 at error level with the recipients, never the password or the body', async () => {
    const smtp = await server('starttls');
    const { lines, logger } = capture();
    const sending = sender(smtp.port, 'starttls', logger, 'the-wrong-password').sendEmail({
      to: ['erin@example.com'],
      subject: 'Secret subject',
      text: secretBody,
    });
    await expect(sending).rejects.toBeInstanceOf(EmailRefusedError);
    await expect(sending).rejects.toMatchObject({ reply: '535 Authentication credentials invalid' });
    expect(smtp.received).toHaveLength(0);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.level).toBe('error');
    expect(lines[0]!.entry).toMatchObject({
      message: 'email not sent: smtp error',
      recipients: ['erin@example.com'],
      serverError: '535 Authentication credentials invalid',
    });
    for (const { line } of lines) {
      expect(line).not.toContain('the-wrong-password');
      expect(line).not.toContain(account.password);
      expect(line).not.toContain(secretBody);
      expect(line).not.toContain(Buffer.from(`\0${account.username}\0the-wrong-password`).toString('base64'));
    }
  });

  it('refuses to continue in plain text when STARTTLS is required but not offered (no credentials sent)', async () => {
    const smtp = await server('none');
    const { lines, logger } = capture();
    await expect(sender(smtp.port, 'starttls', logger).sendEmail({ to: ['frank@example.com'], subject: 's', text: secretBody })).rejects.toThrow(
      /does not offer STARTTLS/,
    );
    expect(smtp.received).toHaveLength(0);
    expect(lines[0]!.level).toBe('error');
    expect(lines[0]!.entry).toMatchObject({ message: 'email not sent: unexpected error', recipients: ['frank@example.com'] });
  });

  it('fails the TLS handshake against a certificate it does not trust', async () => {
    const smtp = await server('implicit');
    const untrusting = createEmailSender(
      createSmtpTransport({
        host: '127.0.0.1',
        port: smtp.port,
        security: 'implicit_tls',
        from: 'phobos@example.com',
        timeoutMs: 3_000,
        connect: nodeSockets({ ca: selfSignedCertificate().cert }),
      }),
      { logger: capture().logger },
    );
    await expect(untrusting.sendEmail({ to: ['gina@example.com'], subject: 's', text: 't' })).rejects.toThrow(/self.signed|certificate/i);
    expect(smtp.received).toHaveLength(0);
  });

  it('logs a connection refused as an unexpected error with the recipients', async () => {
    const smtp = await server('none');
    const port = smtp.port;
    await smtp.close();
    servers.splice(servers.indexOf(smtp), 1);
    const { lines, logger } = capture();
    await expect(sender(port, 'none', logger).sendEmail({ to: ['hank@example.com'], subject: 's', text: secretBody })).rejects.toThrow(/ECONNREFUSED/);
    expect(lines.map((l) => [l.level, l.entry.message, l.entry.recipients])).toEqual([['error', 'email not sent: unexpected error', ['hank@example.com']]]);
    expect(lines[0]!.entry.error).toMatch(/ECONNREFUSED/);
  });

  it('reports a refused sender with the server’s reply', async () => {
    const smtp = await server('none');
    smtp.refuseMail({ code: 550, message: 'Sender address rejected' });
    await expect(sender(smtp.port, 'none').sendEmail({ to: ['ivan@example.com'], subject: 's', text: 't' })).rejects.toMatchObject({
      reply: '550 Sender address rejected',
    });
  });

  it('refuses an address that would break out of the SMTP command', async () => {
    const smtp = await server('none');
    await expect(sender(smtp.port, 'none').sendEmail({ to: ['x@example.com>\r\nRCPT TO:<y@example.com'], subject: 's', text: 't' })).rejects.toThrow(
      /not a deliverable address/,
    );
    expect(smtp.received).toHaveLength(0);
  });
});
