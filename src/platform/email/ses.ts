// The ses plugin: Amazon SES API v2 SendEmail (`POST /v2/email/outbound-emails`), signed with SigV4 by
// aws4fetch (Workers have no instance role: the key pair comes from the configuration, as for KMS).
// A refusal is SES's error type and message (`MessageRejected: Email address is not verified`).
import { AwsClient } from 'aws4fetch';
import { EmailRefusedError, type EmailMessage, type EmailTransport } from './email-client';

export interface SesOptions {
  region: string;
  from: string;
  accessKeyId: string;
  secretAccessKey: string;
  configurationSetName?: string;
  /** Default `https://email.<region>.amazonaws.com`. */
  endpoint?: string;
  timeoutMs?: number;
}

const content = (data: string) => ({ Data: data, Charset: 'UTF-8' });

export function createSesTransport(options: SesOptions): EmailTransport {
  const endpoint = (options.endpoint ?? `https://email.${options.region}.amazonaws.com`).replace(/\/+$/, '');
  // No retries here: the email outbox retries with its own backoff.
  const client = new AwsClient({
    accessKeyId: options.accessKeyId,
    secretAccessKey: options.secretAccessKey,
    service: 'ses',
    region: options.region,
    retries: 0,
  });
  return {
    type: 'ses',
    async deliver(message: EmailMessage) {
      const body = {
        FromEmailAddress: options.from,
        Destination: { ToAddresses: [...message.to] },
        Content: {
          Simple: {
            Subject: content(message.subject),
            Body: { Text: content(message.text), ...(message.html === undefined ? {} : { Html: content(message.html) }) },
          },
        },
        ...(options.configurationSetName ? { ConfigurationSetName: options.configurationSetName } : {}),
      };
      const response = await client.fetch(`${endpoint}/v2/email/outbound-emails`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
      });
      if (response.ok) {
        await response.body?.cancel();
        return;
      }
      const answer = (await response.json().catch(() => ({}))) as { message?: unknown; Message?: unknown };
      const type = (response.headers.get('x-amzn-errortype') ?? `HTTP ${response.status}`).split(':')[0];
      const text = answer.message ?? answer.Message;
      throw new EmailRefusedError('ses', typeof text === 'string' ? `${type}: ${text}` : `${type}`);
    },
  };
}
