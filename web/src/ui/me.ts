// The signed-in principal, loaded once per session: the layout's name and admin menu, and pages that
// hide actions the user may not take (the API enforces them regardless).
import { createResource } from 'solid-js';
import { request } from '../graphql/client';
import { graphql } from '../graphql/graphql';
import { isSignedIn } from '../auth/session';

const meQuery = graphql(`
  query Me {
    me {
      __typename
      ... on User {
        id
        username
        email
        admin
      }
      ... on ServiceAccount {
        id
        name
      }
    }
  }
`);

const [me] = createResource(
  () => isSignedIn() || undefined,
  async () => (await request(meQuery, {})).me,
);

export { me };

/** Whether the signed-in user is a system administrator. */
export const isAdmin = (): boolean => {
  const current = me();
  return current?.__typename === 'User' && current.admin;
};
