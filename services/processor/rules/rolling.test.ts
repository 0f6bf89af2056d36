import { describe, expect, it } from 'vitest';
import { DAY_MS, type JourneyEvent } from '../../../schemas/event-contract.ts';
import { windowDeltasOf, NO_TRACK, type CustomerKpiTrack } from './window-deltas.ts';
import { ALL_SEGMENTS } from '../../../schemas/event-contract.ts';
import { ROLLING_LENGTHS, rollingSteps, type RollingCounts } from './rolling.ts';
import { addSteps, EMPTY_ROLLING, newSegmentRolling, rollingAt, type SegmentRolling } from './rolling-counters.ts';
import { addDays, dayEnd, dayOf, type Day } from './calendar.ts';
import { journeyEvent } from '../../../test/helpers/events.ts';

const TZ = 'UTC';
const T0 = Date.parse('2026-10-01T08:00:00Z');

function event(id: number, customer: string, type: 'page_view' | 'purchase', day: number, session: string | null): JourneyEvent {
  const fields = { n: id, at: T0 + day * DAY_MS + id * 1000, received_at: T0, customer_id: customer, session_id: session };
  return type === 'page_view' ? journeyEvent(type, fields, { url: 'https://x.example', duration_ms: 1000 }) : journeyEvent(type, fields);
}

/** Applies events in the given order, the way the processor does; reads the windows back by `segment|end`. */
function accumulate(events: readonly JourneyEvent[]): { get: (key: string) => RollingCounts | undefined } {
  const tracks = new Map<string, CustomerKpiTrack>();
  const firstSeen = new Map<string, number>();
  const counters = new Map<string, SegmentRolling>();
  for (const e of events) {
    const customer = e.customer_id ?? '';
    const before = tracks.get(customer) ?? NO_TRACK;
    firstSeen.set(customer, Math.min(firstSeen.get(customer) ?? Infinity, e.occurred_at));
    const { track } = windowDeltasOf({
      event: e,
      segment: 'smb',
      track: before,
      firstSeenAt: firstSeen.get(customer) ?? e.occurred_at,
      transition: null,
      timeZone: TZ,
      countsInWindow: true,
      sentiment: null,
      converts: e.type === 'purchase',
      checkoutAbandonedAfterMs: 3_600_000,
    });
    tracks.set(customer, track);
    for (const [segment, delta] of rollingSteps({
      before,
      after: track,
      segments: ['smb', ALL_SEGMENTS],
      session: e.session_id,
      day: dayOf(e.occurred_at, TZ),
      timeZone: TZ,
    })) {
      const state = counters.get(segment) ?? newSegmentRolling();
      addSteps(state, delta);
      counters.set(segment, state);
    }
  }
  return {
    get: (key) => {
      const cut = key.lastIndexOf('|');
      return rollingAt(counters.get(key.slice(0, cut)), key.slice(cut + 1));
    },
  };
}

/** The rolling distinct counts straight from the definition, for the window ending `end`. */
function bruteForce(events: readonly JourneyEvent[], end: Day, length: number) {
  const between = (from: Day, to: Day) => events.filter((e) => dayOf(e.occurred_at, TZ) >= from && dayOf(e.occurred_at, TZ) <= to);
  const start = addDays(end, 1 - length);
  const inWindow = between(start, end);
  const views = inWindow.filter((e) => e.type === 'page_view');
  const visitorsOf = (list: readonly JourneyEvent[]) => new Set(list.filter((e) => e.type === 'page_view').map((e) => e.customer_id));
  const previous = visitorsOf(between(addDays(start, -length), addDays(end, -length)));
  const current = visitorsOf(inWindow);
  const buyers = new Set(inWindow.filter((e) => e.type === 'purchase').map((e) => e.customer_id));
  const secondPurchase = (customer: string | null) =>
    events
      .filter((e) => e.type === 'purchase' && e.customer_id === customer)
      .map((e) => e.occurred_at)
      .sort((a, b) => a - b)[1];
  return {
    visitors: new Set(views.map((e) => e.customer_id)).size,
    sessions: new Set(views.flatMap((e) => (e.session_id === null ? [] : [e.session_id]))).size,
    timedSessions: new Set(views.flatMap((e) => (e.session_id === null ? [] : [e.session_id]))).size,
    buyers: buyers.size,
    repeatBuyers: [...buyers].filter((c) => (secondPurchase(c) ?? Infinity) < dayEnd(end, TZ)).length,
    returningVisitors: [...previous].filter((c) => current.has(c)).length,
    previousVisitors: previous.size,
    convertedVisitors: [...buyers].filter((c) => current.has(c)).length,
    windowRepeatBuyers: [...buyers].filter((c) => inWindow.filter((e) => e.type === 'purchase' && e.customer_id === c).length >= 2).length,
  };
}

function seeded(seed: number) {
  let a = seed;
  return () => {
    a = (a * 1103515245 + 12345) % 2147483648;
    return a / 2147483648;
  };
}

describe('rolling 7- and 30-day distinct counts', () => {
  it('counts a customer who visits on several days of the week once', () => {
    const totals = accumulate([
      event(1, 'ann', 'page_view', 0, 's1'),
      event(2, 'ann', 'page_view', 2, 's2'),
      event(3, 'ann', 'page_view', 4, 's2'),
    ]);
    const day = (n: number) => dayOf(T0 + n * DAY_MS, TZ);
    expect(totals.get(`smb|${day(4)}`)?.['7']).toMatchObject({ visitors: 1, sessions: 2, timedSessions: 2, buyers: 0, repeatBuyers: 0 });
    // Day 10: only the visit of day 4 is within the last 7 days; day 0 has left the window.
    expect(totals.get(`smb|${day(10)}`)?.['7'].visitors).toBe(1);
    expect(totals.get(`smb|${day(11)}`)?.['7'].visitors ?? 0).toBe(0);
    expect(totals.get(`smb|${day(33)}`)?.['30'].visitors).toBe(1);
    expect(totals.get(`smb|${day(34)}`)?.['30'].visitors ?? 0).toBe(0);
  });

  it('counts a visitor of the week before who came back this week as returning', () => {
    const totals = accumulate([
      event(1, 'ann', 'page_view', 0, 's1'),
      event(2, 'ann', 'page_view', 9, 's2'),
      event(3, 'bob', 'page_view', 1, 's3'),
    ]);
    const day = (n: number) => dayOf(T0 + n * DAY_MS, TZ);
    // Week ending day 9 (days 3–9) against days -4–2: ann returned, bob did not.
    expect(totals.get(`smb|${day(9)}`)?.['7']).toMatchObject({ visitors: 1, previousVisitors: 2, returningVisitors: 1 });
    // Week ending day 14 (8–14) against 1–7: ann's day-0 visit has left it.
    expect(totals.get(`smb|${day(14)}`)?.['7']).toMatchObject({ previousVisitors: 1, returningVisitors: 0 });
    // Day over day: day 1 had ann's visit of day 0 before it, but ann did not come back on day 1.
    expect(totals.get(`smb|${day(1)}`)?.['1']).toEqual({ previousVisitors: 1, returningVisitors: 0 });
    expect(totals.get(`smb|${day(10)}`)?.['1']).toEqual({ previousVisitors: 1, returningVisitors: 0 });
  });

  it('makes a buyer a repeat buyer from the window in which the second purchase falls, even when it arrives first', () => {
    const totals = accumulate([event(2, 'bob', 'purchase', 5, null), event(1, 'bob', 'purchase', 1, null)]);
    const day = (n: number) => dayOf(T0 + n * DAY_MS, TZ);
    expect(totals.get(`smb|${day(3)}`)?.['7']).toMatchObject({ buyers: 1, repeatBuyers: 0 });
    expect(totals.get(`smb|${day(5)}`)?.['7']).toMatchObject({ buyers: 1, repeatBuyers: 1 });
  });

  it('equals the definition for every window, whatever the arrival order', () => {
    const random = seeded(42);
    const events: JourneyEvent[] = [];
    for (let i = 1; i <= 300; i++) {
      const customer = `c${Math.floor(random() * 12)}`;
      const day = Math.floor(random() * 45);
      events.push(
        event(i, customer, random() < 0.7 ? 'page_view' : 'purchase', day, random() < 0.8 ? `${customer}-s${Math.floor(day / 3)}` : null),
      );
    }
    const shuffled = [...events].sort(() => random() - 0.5);
    const totals = accumulate(shuffled);
    for (let n = 0; n < 110; n++) {
      const end = dayOf(T0 + n * DAY_MS, TZ);
      const daily = bruteForce(events, end, 1);
      expect({ end, ...(totals.get(`smb|${end}`)?.['1'] ?? EMPTY_ROLLING['1']) }).toEqual({
        end,
        returningVisitors: daily.returningVisitors,
        previousVisitors: daily.previousVisitors,
      });
      for (const length of ROLLING_LENGTHS) {
        const expected = bruteForce(events, end, length);
        expect({ end, length, ...(totals.get(`smb|${end}`)?.[length] ?? EMPTY_ROLLING[length]) }).toEqual({ end, length, ...expected });
        expect(totals.get(`*|${end}`)?.[length] ?? EMPTY_ROLLING[length]).toEqual(
          totals.get(`smb|${end}`)?.[length] ?? EMPTY_ROLLING[length],
        );
      }
    }
  });
});
