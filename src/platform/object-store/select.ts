// Chooses the object store from PHOBOS_OBJECT_STORE_PLUGIN_TYPE (`r2` by default).
import type { PhobosConfig } from '../../config/load';
import type { WorkerEnv } from '../../env';
import { type ObjectStore, ObjectStoreError } from './object-store';
import { createR2ObjectStore } from './r2';
import { createS3ObjectStore } from './s3';

// One store per isolate and configuration (the S3 client caches derived signing keys).
const stores = new WeakMap<PhobosConfig, ObjectStore>();

export function objectStoreFor(env: WorkerEnv, config: PhobosConfig): ObjectStore {
  let store = stores.get(config);
  if (!store) {
    store = createStore(env, config);
    stores.set(config, store);
  }
  return store;
}

function createStore(env: WorkerEnv, config: PhobosConfig): ObjectStore {
  const settings = config.objectStore;
  if (settings.type === 'aws_s3') {
    const { accessKeyId, secretAccessKey } = settings;
    // Workers have no instance role or credentials file to fall back on.
    if (!accessKeyId || !secretAccessKey) {
      throw new ObjectStoreError(
        'access_denied',
        'the aws_s3 object store needs PHOBOS_OBJECT_STORE_PLUGIN_DATA_AWS_ACCESS_KEY_ID and PHOBOS_OBJECT_STORE_PLUGIN_DATA_AWS_SECRET_ACCESS_KEY',
      );
    }
    // The config module requires the bucket when the type is aws_s3.
    return createS3ObjectStore({ bucket: settings.bucket!, region: settings.region, endpoint: settings.endpoint, accessKeyId, secretAccessKey });
  }
  const bucket = env.OBJECTS as R2Bucket | undefined;
  if (!bucket) throw new ObjectStoreError('bucket_not_found', 'the r2 object store needs the R2 binding OBJECTS (wrangler.toml [[r2_buckets]])');
  return createR2ObjectStore(bucket, { signingSecret: config.jwsProvider.keyEncryptionKey, apiUrl: config.server.apiUrl });
}
