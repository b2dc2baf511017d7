// The smtp plugin: an SMTP submission client (RFC 5321, STARTTLS RFC 3207, AUTH PLAIN/LOGIN RFC 4954)
// over the Workers TCP socket API (`cloudflare:sockets`, passed in by select.ts, so the same code
// runs in Node over a shim in the tests). worker-mailer was evaluated and not used: it continues in
// plain text (AUTH included) when the server does not offer STARTTLS, and a connection closed by the
// server mid-reply makes its reader spin forever.
//
// Transport security, as Phase's SMTP_USE_TLS / SMTP_USE_SSL (one or the other, never both), with the
// Phobos variables (only `..._DISABLE_TLS` exists there): port 465 is implicit TLS (RFC 8314), any
// other port STARTTLS, required (no STARTTLS offered → not sent); `..._DISABLE_TLS=true` is plain text.
import { withTimeout } from '../timeout';
import { EmailRefusedError, type EmailMessage, type EmailTransport } from './email-client';
import { mimeMessage } from './smtp-mime';

export type SmtpSecurity = 'implicit_tls' | 'starttls' | 'none';

/** Port 465 (SMTP submission over implicit TLS) speaks TLS from the first byte; others upgrade. */
export function smtpSecurityFor(port: number, disableTls: boolean): SmtpSecurity {
  if (disableTls) return 'none';
  return port === 465 ? 'implicit_tls' : 'starttls';
}

/** What the plugin needs of a `cloudflare:sockets` socket. */
export interface SmtpSocket {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly opened: Promise<unknown>;
  close(): Promise<void>;
  startTls(options?: { expectedServerHostname?: string }): SmtpSocket;
}

export type ConnectSocket = (
  address: { hostname: string; port: number },
  options: { secureTransport: 'on' | 'off' | 'starttls'; allowHalfOpen: boolean },
) => SmtpSocket;

export interface SmtpOptions {
  host: string;
  port: number;
  security: SmtpSecurity;
  from: string;
  username?: string;
  password?: string;
  /** For the connection and for each reply. */
  timeoutMs?: number;
  connect: ConnectSocket;
}

interface Reply {
  code: number;
  lines: string[];
}

const replyText = (reply: Reply) => reply.lines.join(' ');

/** One SMTP conversation: commands out, replies in (multi-line replies joined), each with a deadline. */
class Conversation {
  private reader: ReadableStreamDefaultReader<Uint8Array>;
  private writer: WritableStreamDefaultWriter<Uint8Array>;
  private buffer = '';
  private readonly decoder = new TextDecoder();
  private readonly encoder = new TextEncoder();

  constructor(
    private socket: SmtpSocket,
    private readonly timeoutMs: number,
  ) {
    this.reader = socket.readable.getReader();
    this.writer = socket.writable.getWriter();
  }

  async reply(): Promise<Reply> {
    return withTimeout(this.readReply(), this.timeoutMs, () => new Error(`the SMTP server did not answer within ${this.timeoutMs} ms`));
  }

  private async readReply(): Promise<Reply> {
    const lines: string[] = [];
    for (;;) {
      const end = this.buffer.indexOf('\n');
      if (end >= 0) {
        const line = this.buffer.slice(0, end).replace(/\r$/, '');
        this.buffer = this.buffer.slice(end + 1);
        lines.push(line);
        // The last line of a reply is "NNN text" (or "NNN"); the others "NNN-text".
        if (/^\d{3}(?: |$)/.test(line)) return { code: Number(line.slice(0, 3)), lines };
        if (!/^\d{3}-/.test(line)) throw new Error('the SMTP server answered something that is not an SMTP reply');
        continue;
      }
      const { value, done } = await this.reader.read();
      if (done) throw new Error('the SMTP server closed the connection');
      this.buffer += this.decoder.decode(value, { stream: true });
    }
  }

  async send(line: string): Promise<void> {
    await this.writer.write(this.encoder.encode(`${line}\r\n`));
  }

  /** Sends a command and requires a reply in `expected` (first digit, or exact codes). */
  async command(line: string, expected: (code: number) => boolean): Promise<Reply> {
    await this.send(line);
    const reply = await this.reply();
    if (!expected(reply.code)) throw new EmailRefusedError('smtp', replyText(reply));
    return reply;
  }

  /** Hands the connection to TLS (after a 220 to STARTTLS): what was read before is dropped (RFC 3207 §4.2). */
  upgrade(host: string): void {
    this.reader.releaseLock();
    this.writer.releaseLock();
    this.socket = this.socket.startTls({ expectedServerHostname: host });
    this.reader = this.socket.readable.getReader();
    this.writer = this.socket.writable.getWriter();
    this.buffer = '';
  }

  async close(): Promise<void> {
    await this.socket.close().catch(() => {});
  }
}

const positive = (code: number) => code >= 200 && code < 300;

function capabilitiesOf(reply: Reply): Set<string> {
  // "250-AUTH PLAIN LOGIN" → AUTH, AUTH PLAIN, AUTH LOGIN; "250 STARTTLS" → STARTTLS.
  const found = new Set<string>();
  for (const line of reply.lines.slice(1)) {
    const [keyword = '', ...params] = line
      .slice(4)
      .toUpperCase()
      .split(/[\s=]+/);
    found.add(keyword);
    for (const param of params) found.add(`${keyword} ${param}`);
  }
  return found;
}

const base64 = (text: string) => {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
};

async function greet(conversation: Conversation): Promise<Set<string>> {
  // The client's name in EHLO: Workers have no stable host name, so an address literal, as many do.
  const ehlo = await conversation.command('EHLO [127.0.0.1]', () => true);
  if (positive(ehlo.code)) return capabilitiesOf(ehlo);
  await conversation.command('HELO [127.0.0.1]', positive);
  return new Set();
}

async function authenticate(conversation: Conversation, capabilities: Set<string>, username: string, password: string): Promise<void> {
  if (capabilities.has('AUTH PLAIN') || !capabilities.has('AUTH LOGIN')) {
    await conversation.command(`AUTH PLAIN ${base64(`\0${username}\0${password}`)}`, positive);
    return;
  }
  await conversation.command('AUTH LOGIN', (code) => code === 334);
  await conversation.command(base64(username), (code) => code === 334);
  await conversation.command(base64(password), positive);
}

export function createSmtpTransport(options: SmtpOptions): EmailTransport {
  const timeoutMs = options.timeoutMs ?? 15_000;
  return {
    type: 'smtp',
    async deliver(message: EmailMessage) {
      // An address goes inside a command line: nothing that could end it or the brackets.
      for (const address of [options.from, ...message.to])
        if (!/^[^\s<>]+@[^\s<>]+$/.test(address)) throw new Error(`not a deliverable address: ${JSON.stringify(address)}`);
      const secureTransport = options.security === 'implicit_tls' ? 'on' : options.security === 'starttls' ? 'starttls' : 'off';
      const socket = options.connect({ hostname: options.host, port: options.port }, { secureTransport, allowHalfOpen: false });
      const conversation = new Conversation(socket, timeoutMs);
      try {
        await withTimeout(socket.opened, timeoutMs, () => new Error(`could not connect to the SMTP server within ${timeoutMs} ms`));
        const greeting = await conversation.reply();
        if (greeting.code !== 220) throw new EmailRefusedError('smtp', replyText(greeting));
        let capabilities = await greet(conversation);
        if (options.security === 'starttls') {
          // Never downgrade: without STARTTLS the credentials and the message would go in plain text.
          if (!capabilities.has('STARTTLS'))
            throw new Error('the SMTP server does not offer STARTTLS (set PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_DISABLE_TLS=true to send in plain text)');
          await conversation.command('STARTTLS', (code) => code === 220);
          conversation.upgrade(options.host);
          capabilities = await greet(conversation);
        }
        if (options.username) await authenticate(conversation, capabilities, options.username, options.password ?? '');
        await conversation.command(`MAIL FROM:<${options.from}>`, positive);
        for (const recipient of message.to) await conversation.command(`RCPT TO:<${recipient}>`, positive);
        await conversation.command('DATA', (code) => code === 354);
        await conversation.command(`${mimeMessage({ from: options.from, ...message })}\r\n.`, positive);
        await conversation.send('QUIT').catch(() => {});
      } finally {
        await conversation.close();
      }
    },
  };
}
