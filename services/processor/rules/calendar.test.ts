import { describe, expect, it } from 'vitest';
import { addDays, assertTimeZone, dayEnd, dayOf, dayStart, latenessOf, rollingDays } from './calendar.ts';

const at = (iso: string) => Date.parse(iso);
const DAY = 24 * 3600 * 1000;

describe('daily windows in a reporting time zone', () => {
  it('puts an event in the local day of the zone', () => {
    const evening = at('2026-11-23T20:45:00Z'); // 00:15 on the 24th in Tehran (UTC+3:30)
    expect([dayOf(evening, 'UTC'), dayOf(evening, 'Asia/Tehran'), dayOf(evening, 'America/Los_Angeles')]).toEqual([
      '2026-11-23',
      '2026-11-24',
      '2026-11-23',
    ]);
  });

  it('gives the day Intl gives at every instant, in zones with quarter-hour offsets and half-hour daylight saving', () => {
    const zones = ['Asia/Tehran', 'Asia/Kathmandu', 'Australia/Eucla', 'Pacific/Chatham', 'America/St_Johns', 'Australia/Lord_Howe'];
    // 2021 still had daylight saving in Tehran; every 37 minutes, so instants fall everywhere in a quarter hour.
    for (const zone of zones) {
      const intl = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' });
      const wrong: string[] = [];
      for (let t = at('2021-01-01T00:00:00Z'); t < at('2022-01-01T00:00:00Z'); t += 37 * 60_000 + 7) {
        if (dayOf(t, zone) !== intl.format(t)) wrong.push(new Date(t).toISOString());
      }
      expect([zone, wrong.slice(0, 3)]).toEqual([zone, []]);
    }
  });

  it('closes a day at the zone midnight', () => {
    expect(new Date(dayEnd('2026-11-23', 'UTC')).toISOString()).toBe('2026-11-24T00:00:00.000Z');
    expect(new Date(dayEnd('2026-11-23', 'Asia/Tehran')).toISOString()).toBe('2026-11-23T20:30:00.000Z');
  });

  it('follows daylight saving: New York spring-forward day is 23 hours', () => {
    expect(new Date(dayStart('2026-03-08', 'America/New_York')).toISOString()).toBe('2026-03-08T05:00:00.000Z');
    expect(new Date(dayEnd('2026-03-08', 'America/New_York')).toISOString()).toBe('2026-03-09T04:00:00.000Z');
    expect(dayEnd('2026-03-08', 'America/New_York') - dayStart('2026-03-08', 'America/New_York')).toBe(23 * 3600 * 1000);
  });

  it('derives rolling views from calendar days, across month and year ends', () => {
    expect(rollingDays('2026-03-02', 7)).toEqual([
      '2026-02-24',
      '2026-02-25',
      '2026-02-26',
      '2026-02-27',
      '2026-02-28',
      '2026-03-01',
      '2026-03-02',
    ]);
    expect(rollingDays('2027-01-01', 30)[0]).toBe('2026-12-03');
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
  });

  it('refuses a zone that does not exist, naming it', () => {
    expect(() => {
      assertTimeZone('Mars/Olympus');
    }).toThrow('Mars/Olympus');
  });
});

describe('lateness against stream time', () => {
  const allowed = 2 * DAY;
  const event = at('2026-11-20T15:00:00Z'); // window 2026-11-20 (UTC) closes 2026-11-21T00:00Z

  it('is on time while the window is open, however old the event is by the wall clock', () => {
    expect(latenessOf(event, at('2026-11-20T23:59:59Z'), allowed, 'UTC')).toBe('on_time');
  });

  it('revises a closed window within the allowed lateness, then sends the rest aside', () => {
    expect(latenessOf(event, at('2026-11-21T00:00:00Z'), allowed, 'UTC')).toBe('late_revision');
    expect(latenessOf(event, at('2026-11-22T23:59:59Z'), allowed, 'UTC')).toBe('late_revision');
    expect(latenessOf(event, at('2026-11-23T00:00:00Z'), allowed, 'UTC')).toBe('too_late');
  });

  it('measures the window in the reporting zone', () => {
    // 15:00Z on the 20th is 18:30 in Tehran; that window closes 20:30Z on the 20th.
    expect(latenessOf(event, at('2026-11-20T21:00:00Z'), allowed, 'Asia/Tehran')).toBe('late_revision');
    expect(latenessOf(event, at('2026-11-20T21:00:00Z'), allowed, 'UTC')).toBe('on_time');
  });
});
