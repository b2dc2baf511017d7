// Authorization rows of VCS providers: managing them takes vcs_provider:manage (owners) on the
// organization or the project; the OAuth callback is public (the state it carries says who acts).
import { createVcsProvider } from '../../../src/domain/vcs-providers/service';
import { globalId } from '../../support/graphql';
import { adminCaller, graphqlOutcome, h, inTenant, owners, restOutcome, same, tenant, unique, type Row } from './world';

/** An OAuth provider (no provider is asked anything when it is created), made by the admin. */
async function provider(): Promise<string> {
  const { provider } = await createVcsProvider(h.db.http, h.config, adminCaller, {
    organizationId: tenant.id,
    name: unique('vcs'),
    type: 'github',
    authType: 'oauth',
    oauthClientId: 'client',
    oauthClientSecret: 'secret',
  });
  return globalId('VCSProvider', provider.id);
}

export const graphqlRows: Record<string, Row> = {
  'Mutation.createVCSProvider': {
    run: (a) =>
      graphqlOutcome(a, 'mutation($input: CreateVCSProviderInput!) { createVCSProvider(input: $input) { vcsProvider { id } } }', {
        input: {
          projectId: globalId('Project', tenant.projectId),
          name: unique('vcs'),
          type: 'GITLAB',
          authType: 'OAUTH',
          oauthClientId: 'client',
          oauthClientSecret: 'secret',
        },
      }),
    // project_developer's developer role in this very project does not manage its providers.
    expected: inTenant(owners),
  },
  'Mutation.updateVCSProvider': {
    run: async (a) =>
      graphqlOutcome(a, 'mutation($input: UpdateVCSProviderInput!) { updateVCSProvider(input: $input) { vcsProvider { id } } }', {
        input: { id: await provider(), description: unique('d') },
      }),
    // The provider is the organization's: a project-only member sees the organization, without the permission.
    expected: inTenant(owners),
  },
  'Mutation.deleteVCSProvider': {
    run: async (a) =>
      graphqlOutcome(a, 'mutation($input: DeleteVCSProviderInput!) { deleteVCSProvider(input: $input) { vcsProvider { id } } }', {
        input: { id: await provider() },
      }),
    expected: inTenant(owners),
  },
};

export const restRows: Record<string, Row> = {
  // Without a state from a flow under way, everyone gets the same 400.
  'GET /auth/vcs/callback': { run: (a) => restOutcome(a, 'GET', '/auth/vcs/callback?code=x'), expected: same('status 400') },
};
