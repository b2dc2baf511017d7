// Chooses the email plugin from the configuration (PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE). `empty` sends
// nothing: the sender logs each message it drops at debug level, so a disabled installation still
// shows what it would have sent.
import { connect } from 'cloudflare:sockets';
import type { PhobosConfig } from '../../config/load';
import type { Logger } from '../logger';
import { createEmailSender, type EmailSender, type EmailTransport } from './email-client';
import { emptyTransport } from './empty';
import { createPlunkTransport } from './plunk';
import { createSesTransport } from './ses';
import { createSmtpTransport, smtpSecurityFor } from './smtp';

function emailTransportFor(config: PhobosConfig['email']): EmailTransport {
  switch (config.type) {
    case 'smtp':
      return createSmtpTransport({
        host: config.smtpHost ?? '',
        port: config.smtpPort,
        security: smtpSecurityFor(config.smtpPort, config.disableTls),
        from: config.fromAddress ?? '',
        connect,
        ...(config.smtpUsername ? { username: config.smtpUsername, password: config.smtpPassword ?? '' } : {}),
      });
    case 'ses':
      return createSesTransport({
        region: config.region ?? '',
        from: config.fromAddress ?? '',
        accessKeyId: config.awsAccessKeyId ?? '',
        secretAccessKey: config.awsSecretAccessKey ?? '',
        ...(config.awsConfigurationSetName ? { configurationSetName: config.awsConfigurationSetName } : {}),
        ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      });
    case 'plunk':
      return createPlunkTransport({
        apiKey: config.apiKey ?? '',
        ...(config.endpoint ? { endpoint: config.endpoint } : {}),
        ...(config.fromAddress ? { from: config.fromAddress } : {}),
      });
    case 'empty':
      return emptyTransport;
  }
}

export function emailSenderFor(config: PhobosConfig['email'], logger: Logger): EmailSender {
  return createEmailSender(emailTransportFor(config), { footer: config.footer, logger });
}
