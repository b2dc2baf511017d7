// Service accounts, as the Phobos API exposes them:
//   query { serviceAccounts(organizationId: "...") { id name description } }
//   mutation { createServiceAccount(input: { organizationId: "...", name: "ci" }) { serviceAccount { id } } }
//   mutation { deleteServiceAccount(input: { id: "prn:service_account:acme/ci", metadata: { version: "1" } }) { serviceAccount { id name } } }
//   mutation { addServiceAccountTrustPolicy(input: { serviceAccountId: "...", issuer: "https://...", audience: "https://phobos.example",
//     boundClaims: [{ claim: "repository", value: "acme/app" }] }) { trustPolicy { id issuer audience boundClaims { claim value } } } }
// The ServiceAccount type itself is declared in viewer.ts (for `me`); this module widens it with
// what only a stored account has. Who may see and change accounts is decided in the domain service.
import type { TrustPolicy } from '../../db/schema';
import {
  addTrustPolicy,
  createServiceAccount,
  deleteServiceAccount,
  listServiceAccounts,
  serviceAccountIdsByPath,
  serviceAccountPrn,
  type ServiceAccountRow,
} from '../../domain/service-accounts/service';
import { trustPolicyAudience } from '../../auth/service-account-login';
import { badInput } from '../../errors';
import { builder } from '../builder';
import { parseVersion, ResourceMetadata, ResourceMetadataInput } from '../metadata';
import { acceptPrns } from '../prns';
import { closeSessionsOf } from './agents';
import { OrganizationNode } from './organizations';
import { ServiceAccountNode } from './viewer';

/** A stored account in the shape the ServiceAccount type (and `me`) resolves from. */
function accountShape(row: ServiceAccountRow) {
  return { ...row, kind: 'service_account' as const };
}

// `me` resolves the type from the authenticated principal, which carries none of these fields: they
// are null there and filled wherever the account comes from the database.
builder.objectFields(ServiceAccountNode, (t) => ({
  description: t.string({ nullable: true, resolve: (account) => (account as Partial<ServiceAccountRow>).description ?? null }),
  organization: t.field({
    type: OrganizationNode,
    nullable: true,
    resolve: (account) => (account as Partial<ServiceAccountRow>).organizationId ?? null,
  }),
  metadata: t.field({
    type: ResourceMetadata,
    nullable: true,
    resolve: (account) => {
      const row = account as Partial<ServiceAccountRow>;
      return row.createdAt && row.organizationName ? { ...(row as ServiceAccountRow), prn: serviceAccountPrn(row as ServiceAccountRow) } : null;
    },
  }),
}));

acceptPrns('service_account', 'ServiceAccount', serviceAccountIdsByPath);

interface BoundClaim {
  claim: string;
  value: string;
}

const BoundClaimRef = builder.objectRef<BoundClaim>('BoundClaim').implement({
  description: 'A claim an external token must carry, with exactly this value.',
  fields: (t) => ({
    claim: t.exposeString('claim'),
    value: t.exposeString('value'),
  }),
});

const BoundClaimInput = builder.inputType('BoundClaimInput', {
  fields: (t) => ({
    claim: t.string({ required: true }),
    value: t.string({ required: true }),
  }),
});

const TrustPolicyRef = builder.objectRef<TrustPolicy>('ServiceAccountTrustPolicy').implement({
  description: 'Which external OIDC tokens may sign in as a service account.',
  fields: (t) => ({
    id: t.exposeID('id'),
    issuer: t.exposeString('issuer'),
    audience: t.string({
      description: "The audience a token's `aud` must contain (the Phobos token issuer URL unless the policy names another).",
      resolve: (policy, _args, context) => trustPolicyAudience(policy, context.config),
    }),
    boundClaims: t.field({
      type: [BoundClaimRef],
      resolve: (policy) => Object.entries(policy.boundClaims).map(([claim, value]) => ({ claim, value })),
    }),
    createdAt: t.field({ type: 'Time', resolve: (policy) => policy.createdAt }),
  }),
});

builder.queryField('serviceAccounts', (t) =>
  t.field({
    type: [ServiceAccountNode],
    description: "An organization's service accounts, by name.",
    args: { organizationId: t.arg.globalID({ for: OrganizationNode, required: true }) },
    resolve: async (_root, { organizationId }, context) => {
      const rows = await listServiceAccounts(context.db.http, await context.caller(), organizationId.id);
      return rows.map(accountShape);
    },
  }),
);

builder.relayMutationField(
  'createServiceAccount',
  {
    name: 'CreateServiceAccountInput',
    inputFields: (t) => ({
      organizationId: t.globalID({ for: OrganizationNode, required: true }),
      name: t.string({ required: true }),
      description: t.string(),
    }),
  },
  {
    description: 'Creates a service account in an organization.',
    resolve: async (_root, { input }, context) => ({
      serviceAccount: accountShape(
        await createServiceAccount(context.db.http, await context.caller(), {
          organizationId: input.organizationId.id,
          name: input.name,
          description: input.description ?? undefined,
        }),
      ),
    }),
  },
  {
    name: 'CreateServiceAccountPayload',
    outputFields: (t) => ({
      serviceAccount: t.field({ type: ServiceAccountNode, resolve: (payload) => payload.serviceAccount }),
    }),
  },
);

/**
 * Bound claims as the service takes them; a claim named twice is ambiguous, so refused. Collected
 * in a Map: on a plain object `constructor` would already be "bound" and `__proto__` would set the
 * prototype instead of binding a claim.
 */
function boundClaimsOf(claims: BoundClaim[]): Record<string, string> {
  const bound = new Map<string, string>();
  for (const { claim, value } of claims) {
    if (bound.has(claim)) throw badInput('boundClaims', `claim ${claim} is bound twice`);
    bound.set(claim, value);
  }
  return Object.fromEntries(bound);
}

builder.relayMutationField(
  'addServiceAccountTrustPolicy',
  {
    name: 'AddServiceAccountTrustPolicyInput',
    inputFields: (t) => ({
      serviceAccountId: t.globalID({ for: ServiceAccountNode, required: true }),
      issuer: t.string({ required: true }),
      audience: t.string({ description: "The audience the token's `aud` must contain. Default: the Phobos token issuer URL (PHOBOS_TOKEN_ISSUER_URL)." }),
      boundClaims: t.field({ type: [BoundClaimInput], required: true }),
    }),
  },
  {
    description: 'Lets tokens of an OIDC issuer carrying the bound claims sign in as a service account.',
    resolve: async (_root, { input }, context) => ({
      trustPolicy: await addTrustPolicy(context.db.http, await context.caller(), {
        serviceAccountId: input.serviceAccountId.id,
        issuer: input.issuer,
        audience: input.audience,
        boundClaims: boundClaimsOf(input.boundClaims),
      }),
    }),
  },
  {
    name: 'AddServiceAccountTrustPolicyPayload',
    outputFields: (t) => ({
      trustPolicy: t.field({ type: TrustPolicyRef, resolve: (payload) => payload.trustPolicy }),
    }),
  },
);

builder.relayMutationField(
  'deleteServiceAccount',
  {
    name: 'DeleteServiceAccountInput',
    inputFields: (t) => ({
      id: t.globalID({ for: ServiceAccountNode, required: true }),
      metadata: t.field({ type: ResourceMetadataInput }),
    }),
  },
  {
    description:
      'Deletes a service account, its API keys and trust policies; its tokens stop working when they expire, and the agent sessions it opened close at once.',
    resolve: async (_root, { input }, context) => {
      const deleted = await deleteServiceAccount(context.db.http, await context.caller(), input.id.id, { version: parseVersion(input.metadata) });
      await closeSessionsOf(context);
      return { serviceAccount: accountShape(deleted) };
    },
  },
  {
    name: 'DeleteServiceAccountPayload',
    outputFields: (t) => ({
      serviceAccount: t.field({ type: ServiceAccountNode, resolve: (payload) => payload.serviceAccount }),
    }),
  },
);
