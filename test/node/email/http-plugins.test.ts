// The ses and plunk email plugins against local fakes of their APIs (test/fakes/ses.ts, plunk.ts),
// which check what the real services check: SES's SigV4 signature for the `ses` service and region,
// its verified sender and configuration set; Plunk's bearer key. And the `empty` plugin.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load';
import { createEmailSender, EmailRefusedError } from '../../../src/platform/email/email-client';
import { emptyTransport } from '../../../src/platform/email/empty';
import { createPlunkTransport } from '../../../src/platform/email/plunk';
import { createSesTransport } from '../../../src/platform/email/ses';
import { createLogger, type LogLevel } from '../../../src/platform/logger';
import { startFakePlunk, type FakePlunk } from '../../fakes/plunk';
import { startFakeSes, type FakeSes } from '../../fakes/ses';

const credentials = { accessKeyId: 'AKIDPHOBOSSES', secretAccessKey: 'fake-ses-secret-key', region: 'eu-west-1' };
let ses: FakeSes;
let plunk: FakePlunk;

beforeAll(async () => {
  ses = await startFakeSes({ ...credentials, verifiedIdentities: ['phobos.example.com'], configurationSets: ['phobos-notifications'] });
  plunk = await startFakePlunk({ apiKey: 'sk_plunk_test_key' });
});
afterAll(async () => {
  await ses?.close();
  await plunk?.close();
});

function capture() {
  const lines: { level: LogLevel; line: string; entry: Record<string, unknown> }[] = [];
  return {
    lines,
    logger: createLogger({ level: 'debug', sink: (line, level) => lines.push({ level, line, entry: JSON.parse(line) as Record<string, unknown> }) }),
  };
}

const sesSender = (overrides: Partial<Parameters<typeof createSesTransport>[0]> = {}, logger = capture().logger) =>
  createEmailSender(
    createSesTransport({ ...credentials, from: 'phobos@phobos.example.com', configurationSetName: 'phobos-notifications', endpoint: ses.url, ...overrides }),
    { logger, footer: 'the footer' },
  );

describe('ses plugin', () => {
  it('sends through SendEmail v2, signed for ses in the region, with the configuration set and the footer', async () => {
    const { lines, logger } = capture();
    await sesSender({}, logger).sendEmail({ to: ['alice@example.com'], subject: 'Release 1.2.0 succeeded', text: 'body text', html: '<b>body</b>' });
    expect(ses.sent.at(-1)).toMatchObject({
      from: 'phobos@phobos.example.com',
      to: ['alice@example.com'],
      subject: 'Release 1.2.0 succeeded',
      text: 'body text\n\n-- \nthe footer',
      html: '<b>body</b><hr><p>the footer</p>',
      configurationSetName: 'phobos-notifications',
    });
    expect(lines.map((l) => [l.level, l.entry.message, l.entry.subject, l.entry.recipients])).toEqual([
      ['debug', 'email sent', 'Release 1.2.0 succeeded', ['alice@example.com']],
    ]);
  });

  it('reports a wrong secret as SES’s InvalidSignatureException, at error level, without the secret', async () => {
    const { lines, logger } = capture();
    const sending = sesSender({ secretAccessKey: 'the-wrong-ses-secret' }, logger).sendEmail({ to: ['bob@example.com'], subject: 's', text: 'secret body' });
    await expect(sending).rejects.toBeInstanceOf(EmailRefusedError);
    await expect(sending).rejects.toMatchObject({ reply: expect.stringMatching(/^InvalidSignatureException: The request signature we calculated/) });
    expect(ses.answers.at(-1)).toBe('InvalidSignatureException');
    expect(lines[0]).toMatchObject({ level: 'error', entry: { message: 'email not sent: ses error', recipients: ['bob@example.com'] } });
    expect(lines[0]!.line).not.toMatch(/the-wrong-ses-secret|secret body/);
  });

  it('reports a credential scoped to another region, an unknown configuration set and an unverified sender', async () => {
    await expect(sesSender({ region: 'us-east-1' }).sendEmail({ to: ['c@example.com'], subject: 's', text: 't' })).rejects.toMatchObject({
      reply: expect.stringMatching(/^InvalidSignatureException: Credential should be scoped to region 'eu-west-1'/),
    });
    await expect(sesSender({ configurationSetName: 'nope' }).sendEmail({ to: ['c@example.com'], subject: 's', text: 't' })).rejects.toMatchObject({
      reply: 'NotFoundException: Configuration set <nope> does not exist.',
    });
    await expect(sesSender({ from: 'someone@elsewhere.example' }).sendEmail({ to: ['c@example.com'], subject: 's', text: 't' })).rejects.toMatchObject({
      reply: expect.stringMatching(/^MessageRejected: Email address is not verified/),
    });
  });

  it('logs an unreachable endpoint as an unexpected error with the recipients', async () => {
    const { lines, logger } = capture();
    await expect(sesSender({ endpoint: 'http://127.0.0.1:1' }, logger).sendEmail({ to: ['d@example.com'], subject: 's', text: 't' })).rejects.toThrow();
    expect(lines[0]).toMatchObject({ level: 'error', entry: { message: 'email not sent: unexpected error', recipients: ['d@example.com'] } });
  });
});

describe('plunk plugin', () => {
  it('sends with the API key, text as escaped HTML', async () => {
    const sender = createEmailSender(createPlunkTransport({ apiKey: 'sk_plunk_test_key', endpoint: plunk.url }), { logger: capture().logger });
    await sender.sendEmail({ to: ['erin@example.com'], subject: 'Approval requested', text: 'a <b> & c' });
    expect(plunk.sent.at(-1)).toEqual({ to: 'erin@example.com', subject: 'Approval requested', body: expect.stringContaining('a &#60;b&#62; &#38; c') });
  });

  it('reports a wrong API key with Plunk’s answer and never logs the key', async () => {
    const { lines, logger } = capture();
    const sender = createEmailSender(createPlunkTransport({ apiKey: 'sk_wrong_key', endpoint: plunk.url }), { logger });
    await expect(sender.sendEmail({ to: ['f@example.com'], subject: 's', text: 't' })).rejects.toMatchObject({
      reply: 'HTTP 401: Incorrect API key specified',
    });
    expect(lines[0]).toMatchObject({
      level: 'error',
      entry: { message: 'email not sent: plunk error', recipients: ['f@example.com'], serverError: 'HTTP 401: Incorrect API key specified' },
    });
    expect(lines[0]!.line).not.toContain('sk_wrong_key');
  });
});

describe('configuration', () => {
  it('requires region and AWS keys for ses, the API key for plunk, and host and sender for smtp', () => {
    expect(() => loadConfig({ PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE: 'ses', PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_FROM_ADDRESS: 'a@example.com' })).toThrow(
      /PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_REGION[\s\S]*PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_AWS_ACCESS_KEY_ID|PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_AWS_ACCESS_KEY_ID[\s\S]*PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_REGION/,
    );
    expect(() => loadConfig({ PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE: 'plunk' })).toThrow(/PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_API_KEY/);
    expect(() => loadConfig({ PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE: 'smtp' })).toThrow(/PHOBOS_EMAIL_CLIENT_PLUGIN_DATA_SMTP_HOST/);
  });
});

describe('empty plugin', () => {
  it('sends nothing and says so at debug level', async () => {
    const { lines, logger } = capture();
    await createEmailSender(emptyTransport, { logger }).sendEmail({ to: ['g@example.com'], subject: 'dropped', text: 'body' });
    expect(lines.map((l) => [l.level, l.entry.message, l.entry.subject, l.entry.recipients])).toEqual([
      ['debug', 'email not sent: the email plugin is empty (disabled)', 'dropped', ['g@example.com']],
    ]);
  });
});
