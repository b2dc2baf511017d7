// A webhook receiver on a loopback port, as a user of Phobos would write one in Node: it verifies
// Phobos-Signature with node:crypto exactly as the README's snippet does (verifyPhobosSignature),
// answers 401 to a delivery it cannot verify, and otherwise what the test asks for (200 by default).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';

/** The README's snippet: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, within `toleranceSeconds` of now. */
function verifyPhobosSignature(secret: string, header: string, rawBody: string, toleranceSeconds = 300): boolean {
  const fields = Object.fromEntries(header.split(',').map((part) => part.split('=', 2)));
  const timestamp = Number(fields.t);
  if (!Number.isInteger(timestamp) || Math.abs(Date.now() / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest();
  const given = Buffer.from(fields.v1 ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export interface ReceivedDelivery {
  headers: IncomingMessage['headers'];
  body: string;
  verified: boolean;
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedDelivery[];
  /** The status answered to verified deliveries from now on. */
  answer(status: number): void;
  /** The secret it verifies with from now on (a webhook's secret is known once the webhook exists). */
  holdSecret(secret: string): void;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  let secret = '';
  const received: ReceivedDelivery[] = [];
  let status = 200;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const verified = verifyPhobosSignature(secret, String(request.headers['phobos-signature'] ?? ''), body);
      received.push({ headers: request.headers, body, verified });
      response.writeHead(verified ? status : 401, { 'content-type': 'text/plain' });
      response.end(verified ? `status ${status}` : 'signature mismatch');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    answer: (next) => {
      status = next;
    },
    holdSecret: (next) => {
      secret = next;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
