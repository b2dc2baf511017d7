/** Administration tabs take nothing: they are installation-wide. */
export type AdminTabProps = Record<string, never>;
