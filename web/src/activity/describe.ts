// The activity feed's pure pieces: an event as a sentence, and forward paging that can step back
// (the API's cursors go forward from `after`; the pages already seen are remembered).

export interface ActivityEventView {
  action: string;
  targetType: string;
  targetPrn: string | null;
  initiator: { kind: string; name: string };
}

const pastTense: Record<string, string> = {
  create: 'created',
  update: 'updated',
  delete: 'deleted',
  revoke: 'revoked',
  add: 'added',
  remove: 'removed',
  approve: 'approved',
  cancel: 'canceled',
  retry: 'retried',
  start: 'started',
  defer: 'deferred',
  enable: 'enabled',
  disable: 'disabled',
  rotate: 'rotated',
  sign_in: 'signed in',
};

/** "alice created project", "system deleted environment"; the target's PRN is shown beside it. */
export function describeActivity(event: ActivityEventView): string {
  const who = event.initiator.kind === 'system' ? 'The system' : event.initiator.name;
  const verb = pastTense[event.action] ?? event.action.replaceAll('_', ' ');
  if (event.action === 'sign_in') return `${who} signed in`;
  return `${who} ${verb} ${event.targetType.replaceAll('_', ' ')}`;
}

/** Where the feed is: the cursor it starts after, and the cursors of the pages before it. */
export interface FeedPage {
  after?: string;
  before: (string | undefined)[];
}

export const firstPage = (): FeedPage => ({ before: [] });

export function nextPage(page: FeedPage, endCursor: string): FeedPage {
  return { after: endCursor, before: [...page.before, page.after] };
}

export function previousPage(page: FeedPage): FeedPage {
  if (page.before.length === 0) return page;
  return { after: page.before[page.before.length - 1], before: page.before.slice(0, -1) };
}
