// Notification choices as the account page shows them: for each kind, whether it is on everywhere
// (a kind without a choice is on), and the projects where a choice of its own overrides that.

export const notificationKinds = ['APPROVAL_REQUESTED', 'MANUAL_TASK_WAITING', 'PIPELINE_FAILED', 'RELEASE_DUE_DATE', 'RELEASE_FINISHED'] as const;
export type NotificationKindName = (typeof notificationKinds)[number];

export const kindDescriptions: Record<NotificationKindName, string> = {
  APPROVAL_REQUESTED: 'Something waits for my approval',
  MANUAL_TASK_WAITING: 'A manual task waits to be started',
  PIPELINE_FAILED: 'A pipeline I started, or a deployment of my release, failed',
  RELEASE_DUE_DATE: 'A release I take part in is due soon or overdue',
  RELEASE_FINISHED: 'A release I take part in finished',
};

export interface PreferenceView {
  kind: string;
  enabled: boolean;
  project: { id: string; name: string; organization: { name: string } } | null;
}

export interface KindChoices {
  kind: NotificationKindName;
  everywhere: boolean;
  /** Whether `everywhere` is the user's own choice (else the default, on). */
  chosen: boolean;
  projects: { id: string; label: string; enabled: boolean }[];
}

export function choicesByKind(preferences: readonly PreferenceView[]): KindChoices[] {
  return notificationKinds.map((kind) => {
    const mine = preferences.filter((preference) => preference.kind === kind);
    const everywhere = mine.find((preference) => !preference.project);
    return {
      kind,
      everywhere: everywhere?.enabled ?? true,
      chosen: everywhere !== undefined,
      projects: mine
        .flatMap((preference) =>
          preference.project
            ? [{ id: preference.project.id, label: `${preference.project.organization.name}/${preference.project.name}`, enabled: preference.enabled }]
            : [],
        )
        .sort((a, b) => a.label.localeCompare(b.label)),
    };
  });
}
