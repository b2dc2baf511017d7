// When change windows are open: weekly windows are wall-clock times in their IANA time zone (across
// midnight, across DST changes), one-off windows are instants.
import { describe, expect, it } from 'vitest';
import { isTimeZone, nextOpening, openUntil, type WindowSchedule } from '../../src/domain/change-windows/schedule';

const weekly = (days: number[], startTime: string, endTime: string, timeZone: string): WindowSchedule => ({
  recurrence: 'WEEKLY',
  daysOfWeek: days,
  startTime,
  endTime,
  timeZone,
  startsAt: null,
  endsAt: null,
});
const at = (iso: string) => new Date(iso);

describe('weekly change windows', () => {
  // Friday 22:00 to Saturday 02:00, Berlin time (UTC+1 in January): Friday 21:00Z to Saturday 01:00Z.
  const fridayNight = weekly([5], '22:00', '02:00', 'Europe/Berlin');

  it('are open across midnight on the wall clock of their time zone', () => {
    // 2027-01-15 is a Friday.
    expect(openUntil(fridayNight, at('2027-01-15T20:59:00Z'))).toBeNull();
    expect(openUntil(fridayNight, at('2027-01-15T21:00:00Z'))).toEqual(at('2027-01-16T01:00:00Z'));
    expect(openUntil(fridayNight, at('2027-01-16T00:30:00Z'))).toEqual(at('2027-01-16T01:00:00Z'));
    expect(openUntil(fridayNight, at('2027-01-16T01:00:00Z'))).toBeNull();
    // Saturday night is not a Friday night.
    expect(openUntil(fridayNight, at('2027-01-16T21:30:00Z'))).toBeNull();
  });

  it('next open on the next listed day at their local start time', () => {
    expect(nextOpening(fridayNight, at('2027-01-16T01:00:00Z'))).toEqual(at('2027-01-22T21:00:00Z'));
    expect(nextOpening(fridayNight, at('2027-01-13T12:00:00Z'))).toEqual(at('2027-01-15T21:00:00Z'));
    // Several days: the nearest.
    const weekdays = weekly([1, 2, 3, 4, 5], '09:00', '17:00', 'America/New_York');
    // Saturday 2027-01-16 noon in New York: Monday 09:00 EST is 14:00Z.
    expect(nextOpening(weekdays, at('2027-01-16T17:00:00Z'))).toEqual(at('2027-01-18T14:00:00Z'));
    expect(openUntil(weekdays, at('2027-01-18T15:00:00Z'))).toEqual(at('2027-01-18T22:00:00Z'));
  });

  it('follow daylight saving time: the same local hour is another UTC hour in summer', () => {
    const morning = weekly([1, 2, 3, 4, 5, 6, 7], '06:00', '07:00', 'Europe/Berlin');
    expect(openUntil(morning, at('2027-01-20T05:30:00Z'))).toEqual(at('2027-01-20T06:00:00Z'));
    expect(openUntil(morning, at('2027-07-20T04:30:00Z'))).toEqual(at('2027-07-20T05:00:00Z'));
    expect(openUntil(morning, at('2027-07-20T05:30:00Z'))).toBeNull();
    // Across the spring change (2027-03-28 in Europe): the next opening is 06:00 CEST, 04:00Z.
    expect(nextOpening(morning, at('2027-03-27T06:00:00Z'))).toEqual(at('2027-03-28T04:00:00Z'));
  });

  it('in a time zone ahead of UTC, a window opens on its local day (the UTC day before)', () => {
    const tokyoMonday = weekly([1], '00:30', '01:30', 'Asia/Tokyo');
    // Monday 00:30 in Tokyo (UTC+9) is Sunday 15:30Z.
    expect(nextOpening(tokyoMonday, at('2027-01-17T00:00:00Z'))).toEqual(at('2027-01-17T15:30:00Z'));
    expect(openUntil(tokyoMonday, at('2027-01-17T16:00:00Z'))).toEqual(at('2027-01-17T16:30:00Z'));
  });
});

describe('one-off change windows', () => {
  const once: WindowSchedule = {
    recurrence: 'ONCE',
    daysOfWeek: [],
    startTime: null,
    endTime: null,
    timeZone: null,
    startsAt: at('2027-02-01T10:00:00Z'),
    endsAt: at('2027-02-01T12:00:00Z'),
  };
  it('are open from their start to their end, and never again', () => {
    expect(openUntil(once, at('2027-02-01T09:59:59Z'))).toBeNull();
    expect(openUntil(once, at('2027-02-01T10:00:00Z'))).toEqual(at('2027-02-01T12:00:00Z'));
    expect(openUntil(once, at('2027-02-01T12:00:00Z'))).toBeNull();
    expect(nextOpening(once, at('2027-01-01T00:00:00Z'))).toEqual(at('2027-02-01T10:00:00Z'));
    expect(nextOpening(once, at('2027-02-01T11:00:00Z'))).toBeNull();
  });
});

it('knows IANA time zones', () => {
  expect(isTimeZone('Europe/Berlin')).toBe(true);
  expect(isTimeZone('UTC')).toBe(true);
  expect(isTimeZone('Mars/Olympus')).toBe(false);
});
