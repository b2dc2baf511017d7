// Where a webhook may post: https to public hosts; http only to loopback, and only when the
// installation itself is local; never to private, link-local or unique-local addresses.
import { describe, expect, it } from 'vitest';
import { validateWebhookUrl } from '../../src/domain/webhooks/url';

const production = 'https://phobos.example.com';
const local = 'http://localhost:9000';

function refusal(url: string, apiUrl: string): string | undefined {
  try {
    validateWebhookUrl(url, apiUrl);
    return undefined;
  } catch (error) {
    expect(error).toMatchObject({ code: 'BAD_USER_INPUT', options: { field: 'url' } });
    return (error as Error).message;
  }
}

describe('validateWebhookUrl', () => {
  it('takes https to public hosts anywhere', () => {
    expect(validateWebhookUrl(' https://hooks.slack.com/services/T0/B0/x ', production)).toBe('https://hooks.slack.com/services/T0/B0/x');
    expect(validateWebhookUrl('https://example.webhook.office.com/webhookb2/x', production)).toBe('https://example.webhook.office.com/webhookb2/x');
    expect(validateWebhookUrl('https://8.8.8.8/hook', production)).toBe('https://8.8.8.8/hook');
  });

  it('takes http to loopback only for a local installation', () => {
    expect(validateWebhookUrl('http://127.0.0.1:8080/hook', local)).toBe('http://127.0.0.1:8080/hook');
    expect(validateWebhookUrl('http://localhost:8080/hook', local)).toBe('http://localhost:8080/hook');
    expect(refusal('http://127.0.0.1:8080/hook', production)).toContain('must be https');
    expect(refusal('https://127.0.0.1:8080/hook', production)).toContain('private, loopback or link-local');
    expect(refusal('https://localhost/hook', production)).toContain('private, loopback or link-local');
    expect(refusal('http://hooks.example.com/x', local)).toContain('must be https');
  });

  it('refuses private, link-local, carrier-grade NAT, multicast and IPv6 local addresses, and internal names', () => {
    for (const url of [
      'https://10.0.0.1/x',
      'https://172.16.5.4/x',
      'https://192.168.1.1/x',
      'https://169.254.169.254/latest/meta-data/',
      'https://100.64.0.1/x',
      'https://0.0.0.0/x',
      'https://224.0.0.1/x',
      'https://localhost./x',
      'https://127.0.0.1./x',
      // Spelled otherwise, normalised by the URL parser to 127.0.0.1 and 10.0.0.1.
      'https://2130706433/x',
      'https://0x0a.0.0.1/x',
    ]) {
      expect(refusal(url, production), url).toContain('private, loopback or link-local');
    }
    // Every IPv6 literal: IPv4-compatible, NAT64 and 6to4 forms embed any IPv4 address.
    for (const url of [
      'https://[::1]/x',
      'https://[fd12:3456::1]/x',
      'https://[fe80::1]/x',
      'https://[::ffff:10.0.0.1]/x',
      'https://[::127.0.0.1]/x',
      'https://[64:ff9b::a9fe:a9fe]/x',
      'https://[2002:a9fe:a9fe::1]/x',
      'https://[2606:4700::1111]/x',
    ]) {
      expect(refusal(url, production), url).toContain('IPv6 addresses are not accepted');
    }
    for (const url of [
      'https://intranet/x',
      'https://printer.local/x',
      'https://metadata.google.internal/x',
      'https://metadata.google.internal./x',
      'https://x.local./x',
    ]) {
      expect(refusal(url, production), url).toContain('public host');
    }
  });

  it('refuses what is not a URL, credentials in it, other schemes and overlong ones', () => {
    expect(refusal('', production)).toContain('required');
    expect(refusal('hooks.example.com/x', production)).toContain('not a URL');
    expect(refusal('https://user:secret@hooks.example.com/x', production)).toContain('credentials');
    expect(refusal('ftp://hooks.example.com/x', production)).toContain('must be https');
    expect(refusal(`https://hooks.example.com/${'a'.repeat(2100)}`, production)).toContain('at most 2048');
  });
});
