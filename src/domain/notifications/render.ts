// The words of each notification: a subject that says what and where, and a short text with a link
// to the console. Names and ids only (never variables, logs or secrets).
import type { NotificationKind } from '../../db/schema';

export interface NotificationFacts {
  organizationName: string;
  projectName: string;
  pipelineId: string | null;
  pipelineType: string | null;
  environmentName: string | null;
  nodePath: string | null;
  semanticVersion: string | null;
  status: string | null;
  dueNotice: string | null;
  dueDate: string | null;
}

export function renderNotification(kind: NotificationKind, facts: NotificationFacts, links: { uiUrl: string }): { subject: string; text: string } {
  const place = `${facts.organizationName}/${facts.projectName}`;
  const pipeline = facts.pipelineType === 'DEPLOYMENT' ? `deployment${facts.environmentName ? ` to ${facts.environmentName}` : ''}` : 'pipeline';
  const link = facts.pipelineId ? `${links.uiUrl}/pipelines/${facts.pipelineId}` : links.uiUrl;
  const release = `release ${facts.semanticVersion ?? ''}`.trim();
  switch (kind) {
    case 'APPROVAL_REQUESTED': {
      const what = facts.nodePath ? `${facts.nodePath} in a ${pipeline}` : `a ${pipeline}`;
      return { subject: `[Phobos] ${place}: approval requested for ${what}`, text: `Your approval is requested for ${what} of ${place}.\n\n${link}` };
    }
    case 'MANUAL_TASK_WAITING': {
      const what = facts.nodePath ?? 'a manual task';
      return {
        subject: `[Phobos] ${place}: ${what} is waiting to be started`,
        text: `${what} of a ${pipeline} in ${place} is waiting for someone to start it.\n\n${link}`,
      };
    }
    case 'PIPELINE_FAILED':
      return { subject: `[Phobos] ${place}: ${pipeline} failed`, text: `A ${pipeline} of ${place} failed.\n\n${link}` };
    case 'RELEASE_FINISHED': {
      const outcome = facts.status === 'SUCCEEDED' ? 'succeeded' : facts.status === 'CANCELED' ? 'was canceled' : 'failed';
      return { subject: `[Phobos] ${place}: ${release} ${outcome}`, text: `The ${release} of ${place} finished: it ${outcome}.\n\n${link}` };
    }
    case 'RELEASE_DUE_DATE': {
      const overdue = facts.dueNotice === 'OVERDUE';
      return {
        subject: `[Phobos] ${place}: ${release} ${overdue ? 'is past its due date' : 'is due soon'}`,
        text: `The ${release} of ${place} ${overdue ? 'was due' : 'is due'} ${facts.dueDate ?? ''} and is not finished.\n\n${links.uiUrl}`,
      };
    }
  }
}
