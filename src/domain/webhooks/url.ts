// Where a webhook may post. https anywhere public; plain http only to a loopback host, and only
// when the installation itself runs on loopback (PHOBOS_API_URL on localhost: `npm start`, tests),
// so a receiver on the developer's machine works and a production installation never sends in clear.
//
// Server-side request forgery: addresses written literally in private, loopback (outside a local
// installation), link-local (cloud metadata at 169.254.169.254), carrier-grade NAT and unspecified
// ranges are refused, as are every IPv6 literal (IPv4-compatible, NAT64 and 6to4 forms embed any IPv4
// address; a receiver has a name) and single-label and `.local`/`.internal` names, with or without
// the trailing dot of a fully qualified name. A public
// name that resolves to a private address cannot be caught here (Workers has no resolver to ask);
// on Cloudflare's network a Worker's fetch reaches the public Internet only, and an installation
// run in workerd elsewhere should send its egress through a proxy that refuses private ranges.
import { badInput } from '../../errors';

const maxLength = 2048;

const isLoopbackHost = (host: string) => host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);

function isPrivateIPv4(host: string): boolean {
  const match = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(host);
  if (!match) return false;
  const [a, b] = [Number(match[1]), Number(match[2])];
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    a >= 224
  );
}

/** The URL as it will be stored, or BAD_USER_INPUT naming `url`. */
export function validateWebhookUrl(value: string, apiUrl: string): string {
  const text = value.trim();
  if (!text) throw badInput('url', 'required');
  if (text.length > maxLength) throw badInput('url', `at most ${maxLength} characters`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw badInput('url', 'not a URL');
  }
  if (url.username || url.password) throw badInput('url', 'must not carry credentials; the signature authenticates deliveries');
  // `localhost.` and `metadata.google.internal.` are the same hosts as without the final dot.
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  const localInstallation = isLoopbackHost(new URL(apiUrl).hostname.toLowerCase());
  if (localInstallation && isLoopbackHost(host)) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badInput('url', 'must be http or https');
    return url.toString();
  }
  if (url.protocol !== 'https:') throw badInput('url', 'must be https (http only to a loopback receiver of a local installation)');
  if (host.startsWith('[')) throw badInput('url', 'must name its host: IPv6 addresses are not accepted');
  if (isLoopbackHost(host) || isPrivateIPv4(host)) throw badInput('url', 'must not point at a private, loopback or link-local address');
  if (!host.includes('.') || host.endsWith('.local') || host.endsWith('.internal')) throw badInput('url', 'must name a public host');
  return url.toString();
}

/** Scheme, host and port only: what may be shown or recorded of a URL whose path can be a secret. */
export function urlOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '';
  }
}
