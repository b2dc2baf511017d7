// `cloudflare:sockets`' connect() for Node, so the smtp plugin's own code runs against smtp-server in
// the tests with TLS that trusts the test's self-signed certificate (workerd trusts only public
// CAs). Implicit TLS ('on'), STARTTLS ('starttls' then startTls()) and plain ('off'), as workerd does.
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ConnectSocket, SmtpSocket } from '../../src/platform/email/smtp';

function wrap(raw: Socket, opened: Promise<unknown>, trust: { ca: string }): SmtpSocket {
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  const onData = (chunk: Buffer) => controller?.enqueue(new Uint8Array(chunk));
  const onEnd = () => {
    try {
      controller?.close();
    } catch {}
  };
  const readable = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      raw.on('data', onData);
      raw.on('end', onEnd);
      raw.on('error', (error) => {
        try {
          c.error(error);
        } catch {}
      });
    },
  });
  const writable = new WritableStream<Uint8Array>({
    write: (chunk) => new Promise<void>((resolve, reject) => raw.write(chunk, (error) => (error ? reject(error) : resolve()))),
  });
  return {
    readable,
    writable,
    opened,
    close: async () => {
      raw.destroy();
    },
    startTls(options) {
      raw.removeListener('data', onData);
      raw.removeListener('end', onEnd);
      const host = options?.expectedServerHostname;
      const secured = tlsConnect({ socket: raw, host, servername: host && !isIP(host) ? host : undefined, ca: trust.ca });
      return wrap(secured, new Promise((resolve, reject) => secured.once('secureConnect', resolve).once('error', reject)), trust);
    },
  };
}

export function nodeSockets(trust: { ca: string }): ConnectSocket {
  return ({ hostname, port }, { secureTransport }) => {
    if (secureTransport === 'on') {
      const secured = tlsConnect({ host: hostname, port, servername: isIP(hostname) ? undefined : hostname, ca: trust.ca });
      return wrap(secured, new Promise((resolve, reject) => secured.once('secureConnect', resolve).once('error', reject)), trust);
    }
    const raw = netConnect({ host: hostname, port });
    return wrap(raw, new Promise((resolve, reject) => raw.once('connect', resolve).once('error', reject)), trust);
  };
}
