// The client's address, for rate limiting and sign-in throttling. A header names it only when
// something the client cannot talk past has written that header, which PHOBOS_CLIENT_IP_HEADER
// declares (default: `cf-connecting-ip`, or `none` when PHOBOS_API_URL is a loopback URL):
//   - `cf-connecting-ip`: on Cloudflare the edge sets CF-Connecting-IP on every request and
//     overwrites one a client sent. A local server (`npm start`, `wrangler dev`) passes the
//     client's own header through and even fakes `request.cf`, so neither the header nor the
//     presence of `request.cf` proves anything there; only the deployment can say.
//   - `x-forwarded-for`: behind a proxy of your own, the last hop, the one that proxy appended
//     (earlier hops are whatever the client wrote).
//   - `none`: no header is believed and every client is the address `unknown` (Workers do not
//     expose the socket's address).
// A trusted header that is missing or empty also gives `unknown`.
import type { Context } from 'hono';
import type { AppEnv } from './app-env';

const unknownAddress = 'unknown';

export function clientIp(c: Context<AppEnv>): string {
  switch (c.get('config').server.clientIpHeader) {
    case 'cf-connecting-ip':
      return c.req.header('cf-connecting-ip')?.trim() || unknownAddress;
    case 'x-forwarded-for':
      return c.req.header('x-forwarded-for')?.split(',').at(-1)?.trim() || unknownAddress;
    case 'none':
      return unknownAddress;
  }
}
