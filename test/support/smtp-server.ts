// A real SMTP server (smtp-server, from npm) on a loopback port for the email tests: AUTH PLAIN/LOGIN
// against one account (a wrong password gets smtp-server's `535 Authentication credentials invalid`),
// optionally STARTTLS or implicit TLS with a self-signed certificate made for the run, and every
// message it accepted, with its envelope and decoded subject and text.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { freePort } from '../setup/free-port';

export interface ReceivedEmail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html?: string;
  raw: string;
}

export interface TestSmtpServer {
  port: number;
  received: ReceivedEmail[];
  /** Answers every MAIL FROM with this reply code and text from now on (null: accept again). */
  refuseMail(reply: { code: number; message: string } | null): void;
  close(): Promise<void>;
}

export interface TestSmtpOptions {
  account?: { username: string; password: string };
  /** 'starttls': plain, upgraded by STARTTLS; 'implicit': TLS from the first byte; 'none': no TLS offered. */
  tls: 'starttls' | 'implicit' | 'none';
  certificate?: TestCertificate;
}

export interface TestCertificate {
  key: string;
  cert: string;
}

/** A self-signed certificate for 127.0.0.1 and localhost (openssl, into a directory removed after). */
export function selfSignedCertificate(): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'phobos-smtp-cert-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function decodeWords(value: string): string {
  return value.replace(/\r?\n\s+/g, '').replace(/=\?UTF-8\?B\?([^?]*)\?=/gi, (_m, data: string) => Buffer.from(data, 'base64').toString('utf8'));
}

function parse(raw: string): { subject: string; text: string; html?: string } {
  const [head = '', ...rest] = raw.split(/\r\n\r\n/);
  const body = rest.join('\r\n\r\n');
  const header = (name: string) => decodeWords(new RegExp(`^${name}: (.*(?:\\r\\n[ \\t].*)*)`, 'mi').exec(head)?.[1] ?? '');
  const subject = header('Subject');
  const boundary = /boundary="([^"]+)"/.exec(head)?.[1];
  const decode = (part: string) => {
    const [partHead = '', ...partBody] = part.split(/\r\n\r\n/);
    const content = partBody.join('\r\n\r\n').trim();
    return /base64/i.test(partHead) ? Buffer.from(content, 'base64').toString('utf8') : content;
  };
  if (!boundary) return { subject, text: decode(`Content-Transfer-Encoding: ${header('Content-Transfer-Encoding')}\r\n\r\n${body}`) };
  const parts = body.split(`--${boundary}`).filter((part) => part.trim() && !part.startsWith('--'));
  const text = parts.find((part) => /text\/plain/i.test(part));
  const html = parts.find((part) => /text\/html/i.test(part));
  return { subject, text: text ? decode(text.replace(/^\r\n/, '')) : '', ...(html ? { html: decode(html.replace(/^\r\n/, '')) } : {}) };
}

export async function startSmtpServer(options: TestSmtpOptions): Promise<TestSmtpServer> {
  const port = await freePort();
  const received: ReceivedEmail[] = [];
  let refusal: { code: number; message: string } | null = null;
  const server = new SMTPServer({
    secure: options.tls === 'implicit',
    ...(options.certificate ? { key: options.certificate.key, cert: options.certificate.cert } : {}),
    disabledCommands: options.tls === 'none' ? ['STARTTLS'] : [],
    authMethods: ['PLAIN', 'LOGIN'],
    authOptional: !options.account,
    // The tests authenticate over plain text too (DISABLE_TLS, and workerd's STARTTLS cannot trust a test certificate).
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (options.account && auth.username === options.account.username && auth.password === options.account.password) callback(null, { user: auth.username });
      else callback(new Error('Authentication credentials invalid'));
    },
    onMailFrom(_address, _session, callback) {
      if (!refusal) return callback();
      const error = Object.assign(new Error(refusal.message), { responseCode: refusal.code });
      callback(error);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          raw,
          ...parse(raw),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port,
    received,
    refuseMail: (reply) => {
      refusal = reply;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
