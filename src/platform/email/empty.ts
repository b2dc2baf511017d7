// The empty plugin (PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE=empty, the default): email is disabled. Nothing is
// sent; the sender logs each dropped message (subject and recipients) at debug level.
import type { EmailTransport } from './email-client';

export const emptyTransport: EmailTransport = { type: 'empty', deliver: async () => {} };
