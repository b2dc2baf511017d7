// The organization's activity feed (the shared feed, scoped to the organization).
import type { JSX } from 'solid-js';
import { ActivityFeed } from '../activity/feed';
import type { OrganizationTabProps } from './props';

export default function OrganizationActivity(props: OrganizationTabProps): JSX.Element {
  return <ActivityFeed organizationId={props.organizationId} />;
}
