// API keys, as the Phobos API exposes them:
//   mutation { createApiKey(input: { name: "ci", serviceAccountId: "..." }) { apiKey { id name prefix expiresAt } secret } }
//   mutation { revokeApiKey(input: { id: "..." }) { apiKey { id revokedAt } } }
// The secret is in createApiKey's payload only: it is shown once and never stored. Who may create
// and revoke which keys is decided by the domain service and authorize().
import { createApiKey, revokeApiKey, type ApiKeyView } from '../../domain/api-keys/service';
import { builder } from '../builder';
import { OrganizationNode } from './organizations';
import { ServiceAccountNode } from './viewer';

const ApiKeyRef = builder.objectRef<ApiKeyView>('ApiKey').implement({
  description: 'A key for the X-API-Key header. Never carries the secret.',
  fields: (t) => ({
    id: t.globalID({ resolve: (key) => ({ type: 'ApiKey', id: key.id }) }),
    name: t.exposeString('name'),
    prefix: t.exposeString('prefix', { description: 'The public part of the key (phb_<prefix>_…), to recognise it by.' }),
    createdAt: t.field({ type: 'Time', resolve: (key) => key.createdAt }),
    expiresAt: t.field({ type: 'Time', nullable: true, resolve: (key) => key.expiresAt }),
    lastUsedAt: t.field({ type: 'Time', nullable: true, resolve: (key) => key.lastUsedAt }),
    revokedAt: t.field({ type: 'Time', nullable: true, resolve: (key) => key.revokedAt }),
  }),
});

builder.relayMutationField(
  'createApiKey',
  {
    name: 'CreateApiKeyInput',
    inputFields: (t) => ({
      name: t.string({ required: true }),
      serviceAccountId: t.globalID({ for: ServiceAccountNode, description: 'Create the key for this service account instead of the caller.' }),
      organizationId: t.globalID({ for: OrganizationNode, description: 'Let the key act only within this organization.' }),
      expiresAt: t.field({ type: 'Time' }),
    }),
  },
  {
    description: 'Creates an API key. The secret is in this payload and nowhere else, ever.',
    resolve: async (_root, { input }, context) => {
      const { key, secret } = await createApiKey(context.db.http, await context.caller(), {
        name: input.name,
        serviceAccountId: input.serviceAccountId?.id,
        organizationId: input.organizationId?.id,
        expiresAt: input.expiresAt ?? undefined,
      });
      return { apiKey: key, secret };
    },
  },
  {
    name: 'CreateApiKeyPayload',
    outputFields: (t) => ({
      apiKey: t.field({ type: ApiKeyRef, resolve: (payload) => payload.apiKey }),
      secret: t.string({ description: 'The whole key, phb_…: shown this once.', resolve: (payload) => payload.secret }),
    }),
  },
);

builder.relayMutationField(
  'revokeApiKey',
  {
    name: 'RevokeApiKeyInput',
    inputFields: (t) => ({
      id: t.globalID({ for: ApiKeyRef, required: true }),
    }),
  },
  {
    description: 'Revokes an API key at once; requests with it are refused from then on.',
    resolve: async (_root, { input }, context) => ({
      apiKey: await revokeApiKey(context.db.http, await context.caller(), input.id.id),
    }),
  },
  {
    name: 'RevokeApiKeyPayload',
    outputFields: (t) => ({
      apiKey: t.field({ type: ApiKeyRef, resolve: (payload) => payload.apiKey }),
    }),
  },
);
