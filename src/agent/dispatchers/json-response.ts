// How the dispatchers that speak a JSON API over node:http (the Docker Engine API, the Kubernetes
// API) read an answer: the whole body, parsed as JSON when it is (an image pull's stream of JSON
// lines, or a proxy's error page, is not: the text stands), with its status.
import type { IncomingMessage } from 'node:http';

export interface JsonAnswer {
  status: number;
  body: unknown;
  text: string;
}

export function readJsonAnswer(res: IncomingMessage, resolve: (answer: JsonAnswer) => void, reject: (error: Error) => void): void {
  const parts: Buffer[] = [];
  res.on('data', (part: Buffer) => parts.push(part));
  res.on('end', () => {
    const text = Buffer.concat(parts).toString('utf8');
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON: the text stands.
    }
    resolve({ status: res.statusCode ?? 0, body, text });
  });
  res.on('error', reject);
}
