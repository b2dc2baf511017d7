// One signing setup per isolate and configuration: the JWS provider, its key store (with its key
// cache) and the token signer that Phobos Edge's issuers and verifiers share.
import type { PhobosConfig } from '../../config/load';
import type { Database } from '../../db/client';
import { createKeyStore, type KeyStore } from './key-store';
import { createKmsProvider } from './kms-provider';
import { createMemoryProvider } from './memory-provider';
import type { JwsProvider } from './provider';
import { createTokenSigner, type TokenSigner } from './jws';

export interface Signing {
  provider: JwsProvider;
  keys: KeyStore;
  signer: TokenSigner;
}

const setups = new WeakMap<PhobosConfig, Signing>();

function createJwsProvider(config: PhobosConfig): JwsProvider {
  return config.jwsProvider.type === 'awskms' ? createKmsProvider(config.jwsProvider) : createMemoryProvider(config.jwsProvider.keyEncryptionKey);
}

export function signingFor(config: PhobosConfig, database: Database): Signing {
  let setup = setups.get(config);
  if (!setup) {
    const provider = createJwsProvider(config);
    const keys = createKeyStore(database.http, provider, config.signingKeys);
    setup = { provider, keys, signer: createTokenSigner(config.tokenIssuerUrl, keys, provider) };
    setups.set(config, setup);
  }
  return setup;
}
