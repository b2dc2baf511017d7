// The bodies a delivery posts, one per format:
// - generic: our JSON (`WebhookEvent` below), for receivers written against Phobos;
// - slack: a Slack incoming webhook's message, `text` (the notification's fallback) and `blocks`
//   (a section, and for an approval request one button per approver);
// - teams: a Microsoft Teams incoming webhook's legacy MessageCard (`@type`, `summary`, `title`,
//   `text`, `potentialAction` with OpenUri actions), which Teams' incoming webhooks and Workflows accept.
// Approval links open a confirmation page; a chat client following them approves nothing by itself.
import type { WebhookFormat } from '../../db/schema';
import type { WebhookEventKind } from './event-kinds';

export interface WebhookEvent {
  /** The delivery's id (also the Phobos-Delivery-Id header). */
  id: string;
  event: WebhookEventKind;
  occurredAt: string;
  organization: { id: string; name: string };
  project: { id: string; name: string };
  pipeline: { id: string; type: string; status: string; environmentName: string | null };
  /** The task, stage or nested pipeline an approval request or a manual start is about. */
  node?: { id: string; path: string; kind: string; status: string };
  release?: { id: string; semanticVersion: string } | null;
  /** approval.requested: one link per eligible approver (a user), each approving as that user only, once. */
  approvalLinks?: { approver: { id: string; username: string }; approveUrl: string; expiresAt: string }[];
}

const headlines: Record<WebhookEventKind, string> = {
  'approval.requested': 'Approval requested',
  'task.waiting': 'Waiting for a manual start',
  'deployment.started': 'Deployment started',
  'deployment.succeeded': 'Deployment succeeded',
  'deployment.failed': 'Deployment failed',
  'pipeline.failed': 'Pipeline failed',
  'release.finished': 'Release finished',
};

/** One line saying what happened where, in plain text. */
function summaryOf(event: WebhookEvent): string {
  const where = `${event.organization.name}/${event.project.name}`;
  const environment = event.pipeline.environmentName ? ` to ${event.pipeline.environmentName}` : '';
  const release = event.release ? ` ${event.release.semanticVersion}` : '';
  const node = event.node ? ` ${event.node.kind.toLowerCase()} ${event.node.path}` : '';
  if (event.event === 'release.finished') return `${headlines[event.event]}: ${where}${release} (${event.pipeline.status})`;
  if (event.event.startsWith('deployment.')) return `${headlines[event.event]}: ${where}${release}${environment}`;
  return `${headlines[event.event]}: ${where}${node}, pipeline ${event.pipeline.id}${environment}`;
}

// Slack's mrkdwn treats &, < and > as control characters: escape them in what we did not write.
const slackEscape = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

function slackBody(event: WebhookEvent): unknown {
  const text = summaryOf(event);
  const blocks: unknown[] = [{ type: 'section', text: { type: 'mrkdwn', text: slackEscape(text) } }];
  if (event.approvalLinks?.length) {
    blocks.push({
      type: 'actions',
      // Slack allows 25 elements in an actions block.
      elements: event.approvalLinks.slice(0, 25).map((link) => ({
        type: 'button',
        text: { type: 'plain_text', text: `Approve as ${link.approver.username}` },
        url: link.approveUrl,
        style: 'primary',
      })),
    });
  }
  return { text, blocks };
}

function teamsBody(event: WebhookEvent): unknown {
  const failed = event.event.endsWith('.failed') || (event.event === 'release.finished' && event.pipeline.status !== 'SUCCEEDED');
  return {
    '@type': 'MessageCard',
    '@context': 'https://schema.org/extensions',
    summary: summaryOf(event),
    themeColor: failed ? 'D13438' : '2EB886',
    title: headlines[event.event],
    text: summaryOf(event),
    potentialAction: (event.approvalLinks ?? []).map((link) => ({
      '@type': 'OpenUri',
      name: `Approve as ${link.approver.username}`,
      targets: [{ os: 'default', uri: link.approveUrl }],
    })),
  };
}

/** The raw body of a delivery in the webhook's format. */
export function renderBody(format: WebhookFormat, event: WebhookEvent): string {
  if (format === 'slack') return JSON.stringify(slackBody(event));
  if (format === 'teams') return JSON.stringify(teamsBody(event));
  return JSON.stringify(event);
}
