// Authorization rows of the activity log. `activityEvents` is open to every authenticated caller
// and shows each only what it may see, so the row asks for the tenant's events and tells a page
// with events ('ok') from an empty one ('null'): everyone who sees the tenant sees some (a
// project-only member those of its project), other tenants and keys narrowed elsewhere none.
import { globalId } from '../../support/graphql';
import { h, headersOf, inTenant, seeTenant, tenant, type Actor, type Outcome, type Row } from './world';

async function tenantEvents(actor: Actor): Promise<Outcome> {
  const result = await h.gql<{ activityEvents: { totalCount: number } }>(
    'query($id: ID) { activityEvents(organizationId: $id, first: 1) { totalCount } }',
    { id: globalId('Organization', tenant.id) },
    { headers: headersOf(actor) },
  );
  const code = result.errors?.[0]?.extensions?.code;
  if (code) return code as Outcome;
  return result.data!.activityEvents.totalCount > 0 ? 'ok' : 'null';
}

export const graphqlRows: Record<string, Row> = {
  'Query.activityEvents': {
    run: tenantEvents,
    // The custom role grants project:view alone, not activity:view: it sees the tenant, not its events.
    expected: { ...inTenant(seeTenant), other_tenant: 'null', scoped_key_out: 'null', project_viewer_role: 'null' },
  },
};

export const restRows: Record<string, Row> = {};
