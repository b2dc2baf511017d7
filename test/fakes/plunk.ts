// A fake Plunk for tests: the one endpoint the plunk email plugin calls, `POST /v1/send` with
// `Authorization: Bearer <secret key>` and a JSON body (`to`, `subject`, `body`, optional `from`),
// answering `{"success": true, "emails": [...], "timestamp": ...}`, or 401 with Plunk's error shape
// (`{"code": 401, "error": "Unauthorized", "message": "...", "time": ...}`) for another key.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOn, readBody } from '../../scripts/local-stack/http-json';

export interface SentPlunkEmail {
  to: string | string[];
  subject: string;
  body: string;
  from?: string;
}

export interface FakePlunk {
  url: string;
  sent: SentPlunkEmail[];
  close(): Promise<void>;
}

export async function startFakePlunk(options: { apiKey: string }): Promise<FakePlunk> {
  const sent: SentPlunkEmail[] = [];
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const reply = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const body = await readBody(req, 1024 * 1024);
    if (req.method !== 'POST' || req.url !== '/v1/send') return reply(404, { code: 404, error: 'Not Found', message: 'Unknown route', time: Date.now() });
    if (req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return reply(401, { code: 401, error: 'Unauthorized', message: 'Incorrect API key specified', time: Date.now() });
    }
    const input = JSON.parse(body) as SentPlunkEmail;
    if (!input.to || typeof input.subject !== 'string' || typeof input.body !== 'string') {
      return reply(400, { code: 400, error: 'Bad Request', message: 'to, subject and body are required', time: Date.now() });
    }
    sent.push(input);
    const recipients = Array.isArray(input.to) ? input.to : [input.to];
    return reply(200, {
      success: true,
      emails: recipients.map((email) => ({ contact: { id: crypto.randomUUID(), email }, email: crypto.randomUUID() })),
      timestamp: new Date().toISOString(),
    });
  });
  const { url } = await listenOn(server, {});
  return { url, sent, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
