// When a change window is open, and when it next opens or closes. Weekly windows are wall-clock
// times in their IANA time zone (Intl, no library): a window from 22:00 to 02:00 opens on each of
// its days at 22:00 local time and closes at 02:00 the next day, whatever the UTC offset that day.
import type { ChangeWindowRow } from '../../db/schema';

export type WindowSchedule = Pick<ChangeWindowRow, 'recurrence' | 'daysOfWeek' | 'startTime' | 'endTime' | 'timeZone' | 'startsAt' | 'endsAt'>;

const dayMs = 86_400_000;
const weekdays: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterOf(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Whether Intl knows the time zone (an IANA name such as Europe/Berlin). */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatterOf(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** `HH:MM` as minutes after midnight. */
const minutesOf = (time: string) => Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5));

/** The wall clock in the zone at `at`: its date as a UTC midnight, weekday (ISO) and minutes after midnight. */
function wallClock(at: Date, timeZone: string): { date: number; weekday: number; minutes: number; wallMs: number } {
  const parts = Object.fromEntries(
    formatterOf(timeZone)
      .formatToParts(at)
      .map((part) => [part.type, part.value]),
  );
  const date = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day));
  const minutes = Number(parts.hour) * 60 + Number(parts.minute);
  return { date, weekday: weekdays[parts.weekday!]!, minutes, wallMs: date + minutes * 60_000 + Number(parts.second) * 1000 };
}

/** The instant whose wall clock in the zone is `date` (a UTC midnight) plus `minutes`. */
function instantOf(date: number, minutes: number, timeZone: string): Date {
  const wall = date + minutes * 60_000;
  let guess = wall;
  // The zone's offset at the guess, then at the corrected guess (enough around DST changes).
  for (let round = 0; round < 2; round += 1) guess = wall - (wallClock(new Date(guess), timeZone).wallMs - Math.floor(guess / 1000) * 1000);
  return new Date(guess);
}

const weekdayOf = (date: number) => ((new Date(date).getUTCDay() + 6) % 7) + 1;

/** A weekly window's occurrences that could hold `at` or follow it: [opens, closes) instants. */
function weeklyOccurrences(window: WindowSchedule, at: Date): { opens: Date; closes: Date }[] {
  const zone = window.timeZone!;
  const start = minutesOf(window.startTime!);
  const end = minutesOf(window.endTime!);
  const length = end > start ? end - start : end + 1440 - start;
  const today = wallClock(at, zone).date;
  const occurrences: { opens: Date; closes: Date }[] = [];
  for (let offset = -1; offset <= 7; offset += 1) {
    const date = today + offset * dayMs;
    if (!window.daysOfWeek.includes(weekdayOf(date))) continue;
    occurrences.push({ opens: instantOf(date, start, zone), closes: instantOf(date, start + length, zone) });
  }
  return occurrences;
}

/** When the window is open at `at`, the instant it closes; otherwise null. */
export function openUntil(window: WindowSchedule, at: Date): Date | null {
  if (window.recurrence === 'ONCE') return window.startsAt! <= at && at < window.endsAt! ? window.endsAt : null;
  return weeklyOccurrences(window, at).find(({ opens, closes }) => opens <= at && at < closes)?.closes ?? null;
}

/** The next time after `at` the window opens; null when it never will (a past one-off window). */
export function nextOpening(window: WindowSchedule, at: Date): Date | null {
  if (window.recurrence === 'ONCE') return window.startsAt! > at ? window.startsAt : null;
  return weeklyOccurrences(window, at).find(({ opens }) => opens > at)?.opens ?? null;
}
