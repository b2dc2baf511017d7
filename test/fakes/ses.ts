// A fake Amazon SES (API v2) for tests (no SES emulator installs here). It answers the one operation
// the ses email plugin calls, SendEmail (`POST /v2/email/outbound-emails`, REST-JSON), in its
// documented shapes: `{"MessageId": "..."}` on success; errors as an HTTP status, the
// `x-amzn-ErrorType` header and `{"message": "..."}` — MessageRejected for an unverified sender,
// NotFoundException for an unknown configuration set, BadRequestException for a malformed request,
// and SigV4 refusals (`InvalidSignatureException`, `UnrecognizedClientException`) for a request not
// signed with its credentials for the `ses` service and its region.
import { AwsV4Signer } from 'aws4fetch';
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOn, readBody } from '../../scripts/local-stack/http-json';

export interface FakeSesOptions {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  verifiedIdentities: string[];
  configurationSets: string[];
}

export interface SentSesEmail {
  messageId: string;
  from: string;
  to: string[];
  subject: string;
  text?: string;
  html?: string;
  configurationSetName?: string;
}

export interface FakeSes {
  url: string;
  sent: SentSesEmail[];
  /** Every answer given, refusals included: the error type, or 'ok'. */
  answers: string[];
  close(): Promise<void>;
}

class SesError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

async function verifySigV4(req: IncomingMessage, body: string, options: FakeSesOptions): Promise<void> {
  const authorization = req.headers.authorization;
  if (!authorization) throw new SesError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403);
  const parts = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
    authorization,
  );
  if (!parts) throw new SesError('IncompleteSignatureException', 'Authorization header is not an AWS4-HMAC-SHA256 signature.', 403);
  const [, accessKeyId, scopeDate, region, service, signedHeaders, signature] = parts as unknown as string[];
  if (accessKeyId !== options.accessKeyId) throw new SesError('UnrecognizedClientException', 'The security token included in the request is invalid.', 403);
  if (region !== options.region || service !== 'ses') {
    throw new SesError(
      'InvalidSignatureException',
      `Credential should be scoped to region '${options.region}' and service 'ses', not '${region}/${service}'.`,
      403,
    );
  }
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  if (!/^\d{8}T\d{6}Z$/.test(amzDate) || scopeDate !== amzDate.slice(0, 8))
    throw new SesError('IncompleteSignatureException', 'X-Amz-Date must match the credential scope.', 403);
  const signed = signedHeaders!.split(';');
  for (const name of ['host', 'x-amz-date']) {
    if (!signed.includes(name))
      throw new SesError('InvalidSignatureException', `The request header '${name}' must be a 'SignedHeader' in the AWS Authorization.`, 403);
  }
  const bodyHash = req.headers['x-amz-content-sha256'];
  if (bodyHash !== undefined && bodyHash !== createHash('sha256').update(body).digest('hex')) {
    throw new SesError('InvalidSignatureException', "The provided 'x-amz-content-sha256' header does not match what was computed.", 403);
  }
  const headers = new Headers();
  for (const name of signed) if (name !== 'host') headers.set(name, String(req.headers[name] ?? ''));
  const expected = new AwsV4Signer({
    method: req.method!,
    url: `http://${req.headers.host}${req.url}`,
    headers,
    body,
    accessKeyId: options.accessKeyId,
    secretAccessKey: options.secretAccessKey,
    region: options.region,
    service: 'ses',
    datetime: amzDate,
    allHeaders: true,
  });
  const computed = Buffer.from(await expected.signature());
  if (expected.signedHeaders !== signedHeaders || !timingSafeEqual(Buffer.from(signature!), computed)) {
    throw new SesError(
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
      403,
    );
  }
}

type Json = Record<string, unknown>;
const object = (value: unknown): Json | undefined => (value && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined);
const data = (value: unknown): string | undefined => {
  const content = object(value);
  return typeof content?.Data === 'string' ? content.Data : undefined;
};

export async function startFakeSes(options: FakeSesOptions): Promise<FakeSes> {
  const sent: SentSesEmail[] = [];
  const answers: string[] = [];

  async function sendEmail(req: IncomingMessage): Promise<Json> {
    const body = await readBody(req, 1024 * 1024);
    await verifySigV4(req, body, options);
    if (req.method !== 'POST' || req.url !== '/v2/email/outbound-emails')
      throw new SesError('NotFoundException', `No operation at ${req.method} ${req.url}`, 404);
    let input: Json;
    try {
      input = object(JSON.parse(body)) ?? {};
    } catch {
      throw new SesError('BadRequestException', 'The request body is not valid JSON.');
    }
    const from = input.FromEmailAddress;
    const to = object(input.Destination)?.ToAddresses;
    const simple = object(object(input.Content)?.Simple);
    const subject = data(simple?.Subject);
    const text = data(object(simple?.Body)?.Text);
    const html = data(object(simple?.Body)?.Html);
    if (typeof from !== 'string') throw new SesError('BadRequestException', 'FromEmailAddress is required.');
    if (!Array.isArray(to) || to.length === 0 || !to.every((address) => typeof address === 'string'))
      throw new SesError('BadRequestException', 'Destination.ToAddresses is required.');
    if (subject === undefined || (text === undefined && html === undefined))
      throw new SesError('BadRequestException', 'Content.Simple needs a Subject and a Text or Html body.');
    const configurationSetName = input.ConfigurationSetName;
    if (configurationSetName !== undefined && !options.configurationSets.includes(String(configurationSetName))) {
      throw new SesError('NotFoundException', `Configuration set <${String(configurationSetName)}> does not exist.`, 404);
    }
    if (!options.verifiedIdentities.includes(from) && !options.verifiedIdentities.includes(from.split('@')[1] ?? '')) {
      throw new SesError(
        'MessageRejected',
        `Email address is not verified. The following identities failed the check in region ${options.region.toUpperCase()}: ${from}`,
      );
    }
    const messageId = `0100${randomUUID()}-000000`;
    sent.push({
      messageId,
      from,
      to: to as string[],
      subject,
      ...(text === undefined ? {} : { text }),
      ...(html === undefined ? {} : { html }),
      ...(configurationSetName === undefined ? {} : { configurationSetName: String(configurationSetName) }),
    });
    return { MessageId: messageId };
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    sendEmail(req).then(
      (answer) => {
        answers.push('ok');
        res.writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID() }).end(JSON.stringify(answer));
      },
      (error: unknown) => {
        const failure =
          error instanceof SesError ? error : new SesError('InternalFailure', 'The request processing has failed because of an unknown error.', 500);
        answers.push(failure.type);
        res
          .writeHead(failure.status, { 'content-type': 'application/json', 'x-amzn-errortype': failure.type, 'x-amzn-requestid': randomUUID() })
          .end(JSON.stringify({ message: failure.message }));
      },
    );
  });
  const { url } = await listenOn(server, {});
  return { url, sent, answers, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
