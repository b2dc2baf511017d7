// The signature of a delivery, as Stripe signs its webhooks: `Phobos-Signature: t=<unix seconds>,v1=<hex>`
// where the hex is HMAC-SHA-256, keyed by the webhook's secret, of `<t>.<raw body>`. The timestamp is
// signed with the body so a receiver can refuse old (replayed) deliveries; `v1` names the scheme so
// another can be added beside it later.
import { hexEncode, utf8Encode } from '../../platform/encoding';

export async function signatureHeader(secret: string, body: string, at: Date): Promise<string> {
  const timestamp = Math.floor(at.getTime() / 1000);
  const key = await crypto.subtle.importKey('raw', utf8Encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, utf8Encode(`${timestamp}.${body}`)));
  return `t=${timestamp},v1=${hexEncode(mac)}`;
}
