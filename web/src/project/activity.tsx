// The project's activity feed (the shared feed, scoped to the project).
import type { JSX } from 'solid-js';
import { ActivityFeed } from '../activity/feed';
import type { ProjectTabProps } from './props';

export default function ProjectActivity(props: ProjectTabProps): JSX.Element {
  return <ActivityFeed projectId={props.projectId} />;
}
