/**
 * Rolling 7- and 30-day views derived from the daily windows. Sums (page views, revenue, …) of a
 * rolling window are sums of its days, so a reader adds the daily windows up. Distinct counts are
 * not: a customer who visits on three days of a week is one visitor of that week. Those are decided
 * here, from the customer's own record of the days it was counted on (window-deltas.ts marks), so —
 * like the daily windows — the KPI records of all partitions add up exactly.
 *
 * A customer's days cover the windows ending within `length` days after each of them: a union of
 * intervals of window ends. Counts are kept as steps (+1 where an interval starts, −1 after it
 * ends), so the count of the window ending on E is the sum of the steps up to E, and a change costs
 * a few steps rather than one update per window. Each change is "steps after" minus "steps before",
 * so an event arriving late or out of order moves the counts to exactly what the set of events says.
 */
import type { CustomerKpiTrack, SegmentDayMarks } from './window-deltas.ts';
import { parseWindowKey, windowKeyOf } from './window-counts.ts';
import { dayNumber, dayOf, type Day } from './calendar.ts';

export const ROLLING_LENGTHS = [7, 30] as const;
export type RollingLength = (typeof ROLLING_LENGTHS)[number];
/** How many days of marks a customer keeps beyond the oldest open window... */
export const ROLLING_LOOKBACK_DAYS = Math.max(...ROLLING_LENGTHS) - 1;
/** ...and of visits: the window before the longest one counts them too (returning visitors). */
export const VISIT_LOOKBACK_DAYS = 2 * Math.max(...ROLLING_LENGTHS) - 1;

/**
 * returningVisitors: visitors of the window who also visited in the window just before it (the
 * same length, ending `length` days earlier); previousVisitors: visitors of that earlier window.
 * Their ratio is the retention (return) rate. convertedVisitors: visitors of the window who converted in
 * it (the conversions); windowRepeatBuyers: buyers with two or more purchases within the window.
 */
export const ROLLING_FIELDS = [
  'visitors',
  'sessions',
  'timedSessions',
  'buyers',
  'repeatBuyers',
  'returningVisitors',
  'previousVisitors',
  'convertedVisitors',
  'windowRepeatBuyers',
] as const;
export type RollingField = (typeof ROLLING_FIELDS)[number];
/** Returning visitors are also counted day over day: of yesterday's visitors, those back today. */
export const RETURN_FIELDS = ['returningVisitors', 'previousVisitors'] as const;
type ReturnField = (typeof RETURN_FIELDS)[number];
export type RollingCounts = Readonly<Record<`${RollingLength}`, Readonly<Record<RollingField, number>>>> & {
  readonly '1': Readonly<Record<ReturnField, number>>;
};
/** One counter: a field over one window length, e.g. `visitors:7`. */
export type RollingSeries = `${RollingField}:${RollingLength}` | `${ReturnField}:1`;
/** Steps per series: window-end day number → change of the count from that window end on. */
export type RollingSteps = Map<RollingSeries, Map<number, number>>;
/**
 * One event's change to a segment's counters: per series, window ends (day numbers) and the change
 * of the count from each, flat (end, change, end, change, …), none zero. Small: arrays, not maps.
 */
export type RollingDelta = Map<RollingSeries, number[]>;

// Days as whole numbers here (calendar.ts dayNumber): calendar arithmetic on strings was most of
// the processor's time when this ran per window.

/** Window ends from the first to the last day number, inclusive. */
export type Range = [number, number];
/**
 * Window ends as inclusive ranges, flat (start, end, start, end, …), ascending and disjoint: one
 * array per list rather than one per range (these lists are made several times per event).
 */
type Ranges = number[];

/** One segment-day of a customer's marks, its key read once. */
interface DayMarks {
  readonly segment: string;
  readonly day: number;
  readonly mark: SegmentDayMarks;
}

/** A customer's marks by day (ascending): every count below reads them, several times per segment. */
function dayMarksOf(marks: Readonly<Record<string, SegmentDayMarks>>): DayMarks[] {
  const parsed: DayMarks[] = [];
  for (const key in marks) {
    const { segment, day } = parseWindowKey(key);
    parsed.push({ segment, day: dayNumber(day), mark: marks[key] as SegmentDayMarks });
  }
  return parsed.sort((a, b) => a.day - b.day);
}

/** What of a day's marks the rolling counts read, as bits: an event that changed none of them changes no count. */
const VISITED = 1;
const BOUGHT = 2;
const CONVERTED = 4;
const ORDERS = 8;
const SESSIONS = 16;
const TIMED_SESSIONS = 32;
const SESSION_BITS = { sessions: SESSIONS, timedSessions: TIMED_SESSIONS } as const;

/** Whether a day's mark has what `bit` names (VISITED, BOUGHT or CONVERTED). */
const hasMark = (mark: SegmentDayMarks, bit: number): boolean =>
  bit === VISITED ? mark.visitor === true : bit === BOUGHT ? mark.buyer === true : mark.converted === true;

/** Days (ascending) on which `segment` marks have what `bit` names. */
function daysWith(marks: readonly DayMarks[], segment: string, bit: number): number[] {
  const days: number[] = [];
  for (let i = 0; i < marks.length; i++) {
    const { segment: of, day, mark } = marks[i] as DayMarks;
    if (of === segment && hasMark(mark, bit)) days.push(day);
  }
  return days;
}

/** Days (ascending) on which `segment` marks list `session` under `field`. */
function daysOfSession(marks: readonly DayMarks[], segment: string, field: 'sessions' | 'timedSessions', session: string): number[] {
  const days: number[] = [];
  for (const { segment: of, day, mark } of marks) if (of === segment && mark[field]?.includes(session) === true) days.push(day);
  return days;
}

/** Appends the range start…end to `ranges`, merged with the last one where they touch (ends ascending). */
function extend(ranges: Ranges, start: number, end: number): void {
  const n = ranges.length;
  if (n > 0 && start <= (ranges[n - 1] as number) + 1) {
    if (end > (ranges[n - 1] as number)) ranges[n - 1] = end;
  } else ranges.push(start, end);
}

/**
 * The window ends that `days` (ascending) fall in: a day d is in the windows ending d … d + length − 1,
 * or `shift` days later for the window before those. Ends before `from` do not count.
 */
function coveredEnds(days: readonly number[], length: number, from = Number.NEGATIVE_INFINITY, shift = 0): Ranges {
  const ranges: Ranges = [];
  for (let i = 0; i < days.length; i++) {
    const day = days[i] as number;
    const start = Math.max(day + shift, from);
    const end = day + shift + length - 1;
    if (start <= end) extend(ranges, start, end);
  }
  return ranges;
}

/** The ends in both of two range lists. */
function bothOf(a: Ranges, b: Ranges): Ranges {
  const ranges: Ranges = [];
  for (let i = 0, j = 0; i < a.length && j < b.length;) {
    const aEnd = a[i + 1] as number;
    const bEnd = b[j + 1] as number;
    const start = Math.max(a[i] as number, b[j] as number);
    const end = Math.min(aEnd, bEnd);
    if (start <= end) ranges.push(start, end);
    if (aEnd < bEnd) i += 2;
    else j += 2;
  }
  return ranges;
}

/** Purchase days (ascending), a day once per purchase on it (marks keep up to two). */
function orderDaysOf(marks: readonly DayMarks[], segment: string): number[] {
  const days: number[] = [];
  for (const { segment: of, day, mark } of marks) {
    if (of !== segment || mark.buyer !== true) continue;
    for (let n = 0; n < (mark.orders ?? 1); n++) days.push(day);
  }
  return days;
}

/** The window ends whose window holds two purchases of `orderDays` (ascending): those covering a consecutive pair. */
function pairedEnds(orderDays: readonly number[], length: number): Ranges {
  const ranges: Ranges = [];
  for (let i = 0; i + 1 < orderDays.length; i++) {
    const start = orderDays[i + 1] as number;
    const end = (orderDays[i] as number) + length - 1;
    if (start <= end) extend(ranges, start, end);
  }
  return ranges;
}

export interface RollingInput {
  readonly before: CustomerKpiTrack;
  readonly after: CustomerKpiTrack;
  /** The segments the event counted in (its segment and `*`). */
  readonly segments: readonly string[];
  /** The event's session, if any: the only session whose days can have changed... */
  readonly session: string | null;
  /** ...unless the change is not one event's (two identities merged): then every session is looked at. */
  readonly everySession?: boolean;
  /** ...and the event's day, the only day on which it can have joined a day's sessions. */
  readonly day: Day;
  readonly timeZone: string;
}

/** Two lists of the same items in the same order. */
const sameItems = <T>(a: readonly T[], b: readonly T[]) => a === b || (a.length === b.length && a.every((item, i) => item === b[i]));

const NO_MARK: SegmentDayMarks = {};
const sameList = (a: readonly string[] | undefined, b: readonly string[] | undefined) =>
  a === b || (a !== undefined && b !== undefined && sameItems(a, b));

/** The bits of what the rolling counts read that differ between two marks of one segment-day. */
function changedBits(was: SegmentDayMarks = NO_MARK, is: SegmentDayMarks = NO_MARK): number {
  if (was === is) return 0;
  return (
    (was.visitor === is.visitor ? 0 : VISITED) |
    (was.buyer === is.buyer ? 0 : BOUGHT) |
    (was.converted === is.converted ? 0 : CONVERTED) |
    (was.orders === is.orders ? 0 : ORDERS) |
    (sameList(was.sessions, is.sessions) ? 0 : SESSIONS) |
    (sameList(was.timedSessions, is.timedSessions) ? 0 : TIMED_SESSIONS)
  );
}

/** Per segment, the bits that changed on any of its days (segments with none left out). */
function changedBitsBySegment(
  before: Readonly<Record<string, SegmentDayMarks>>,
  after: Readonly<Record<string, SegmentDayMarks>>,
): Map<string, number> {
  const changed = new Map<string, number>();
  if (before === after) return changed;
  const note = (key: string, bits: number) => {
    if (bits === 0) return;
    const { segment } = parseWindowKey(key);
    changed.set(segment, (changed.get(segment) ?? 0) | bits);
  };
  for (const key in after) note(key, changedBits(before[key], after[key]));
  for (const key in before) if (!(key in after)) note(key, changedBits(before[key], undefined));
  return changed;
}

/** The series of a field over a window length, named once: a name built per count was hashed anew every time. */
const SERIES = Object.fromEntries(
  ROLLING_FIELDS.map((field) => [field, { 1: `${field}:1`, 7: `${field}:7`, 30: `${field}:30` }]),
) as Record<RollingField, Record<1 | RollingLength, RollingSeries>>;
export const seriesOf = (field: RollingField, length: 1 | RollingLength): RollingSeries => SERIES[field][length];

/** Adds `by` to the change at window end `day` of a delta's flat (end, change) pairs. */
function addStep(pairs: number[], day: number, by: number): void {
  for (let i = 0; i < pairs.length; i += 2) {
    if (pairs[i] === day) {
      pairs[i + 1] = (pairs[i + 1] as number) + by;
      return;
    }
  }
  pairs.push(day, by);
}

/** Adds the steps of `series` that turn the window ends `was` covered into those `is` covers to `delta`. */
function record(delta: RollingDelta, series: RollingSeries, was: Ranges, is: Ranges): void {
  // Each session is its own token of the same series: its steps add to the others'.
  const pairs = delta.get(series) ?? [];
  for (let i = 0; i < is.length; i += 2) {
    addStep(pairs, is[i] as number, 1);
    addStep(pairs, (is[i + 1] as number) + 1, -1);
  }
  for (let i = 0; i < was.length; i += 2) {
    addStep(pairs, was[i] as number, -1);
    addStep(pairs, (was[i + 1] as number) + 1, 1);
  }
  let kept = 0;
  for (let i = 0; i < pairs.length; i += 2) {
    if (pairs[i + 1] === 0) continue;
    pairs[kept] = pairs[i] as number;
    pairs[kept + 1] = pairs[i + 1] as number;
    kept += 2;
  }
  pairs.length = kept;
  if (kept === 0) delta.delete(series);
  else delta.set(series, pairs);
}

/** For a token counted once per window (a visitor, a session, …) on the days `was`, then `is`. */
function distinct(delta: RollingDelta, field: RollingField, was: readonly number[], is: readonly number[]): void {
  if (sameItems(was, is)) return;
  for (const length of ROLLING_LENGTHS) record(delta, seriesOf(field, length), coveredEnds(was, length), coveredEnds(is, length));
}

const RETURN_LENGTHS = [1, ...ROLLING_LENGTHS] as const;

/** Visitors of the window before, and those of them who visited again in the window. */
function returning(delta: RollingDelta, was: readonly number[], is: readonly number[]): void {
  if (sameItems(was, is)) return;
  for (const length of RETURN_LENGTHS) {
    const [earlierWas, earlierIs] = [
      coveredEnds(was, length, Number.NEGATIVE_INFINITY, length),
      coveredEnds(is, length, Number.NEGATIVE_INFINITY, length),
    ];
    record(delta, seriesOf('previousVisitors', length), earlierWas, earlierIs);
    record(
      delta,
      seriesOf('returningVisitors', length),
      bothOf(coveredEnds(was, length), earlierWas),
      bothOf(coveredEnds(is, length), earlierIs),
    );
  }
}

/** Visitors of the window who converted in it: window ends covered by a visit and by a conversion. */
function convertedVisitors(
  delta: RollingDelta,
  visits: { readonly was: readonly number[]; readonly is: readonly number[] },
  converted: { readonly was: readonly number[]; readonly is: readonly number[] },
): void {
  if (sameItems(visits.was, visits.is) && sameItems(converted.was, converted.is)) return;
  for (const length of ROLLING_LENGTHS) {
    const both = (v: readonly number[], c: readonly number[]) => bothOf(coveredEnds(v, length), coveredEnds(c, length));
    record(delta, seriesOf('convertedVisitors', length), both(visits.was, converted.was), both(visits.is, converted.is));
  }
}

/** Buyers with two purchases within the window. */
function windowRepeatBuyers(delta: RollingDelta, was: readonly number[], is: readonly number[]): void {
  if (sameItems(was, is)) return;
  for (const length of ROLLING_LENGTHS)
    record(delta, seriesOf('windowRepeatBuyers', length), pairedEnds(was, length), pairedEnds(is, length));
}

/**
 * The day (a day number in the reporting zone) of the second purchase: from that window end on,
 * a buyer of the window is a repeat buyer.
 */
function repeatFrom(track: CustomerKpiTrack, timeZone: string): number {
  const second = track.earliestPurchases[1];
  return second === undefined ? Number.POSITIVE_INFINITY : dayNumber(dayOf(second, timeZone));
}

/** Repeat buyers: buyers of the window from the window end their second purchase falls on. */
function repeatBuyers(
  delta: RollingDelta,
  bought: { readonly was: readonly number[]; readonly is: readonly number[] },
  from: { readonly was: number; readonly is: number },
): void {
  if (from.was === from.is && sameItems(bought.was, bought.is)) return;
  for (const length of ROLLING_LENGTHS)
    record(delta, seriesOf('repeatBuyers', length), coveredEnds(bought.was, length, from.was), coveredEnds(bought.is, length, from.is));
}

/** What one event changes in the rolling counts, per segment (segments with no change left out). */
export function rollingSteps(input: RollingInput): Map<string, RollingDelta> {
  const { before, after } = input;
  const bySegment = new Map<string, RollingDelta>();
  // The counts read only what changedBits compares and the two earliest purchases: an event that changed neither changes none.
  const changed = changedBitsBySegment(before.marks, after.marks);
  const purchasesMoved = before.earliestPurchases !== after.earliestPurchases;
  if (changed.size === 0 && !purchasesMoved) return bySegment;
  const [marksWere, marksAre] = [dayMarksOf(before.marks), dayMarksOf(after.marks)];
  const repeatWas = repeatFrom(before, input.timeZone);
  const from = { was: repeatWas, is: purchasesMoved ? repeatFrom(after, input.timeZone) : repeatWas };

  for (const segment of input.segments) {
    const bits = changed.get(segment) ?? 0;
    if (bits === 0 && !purchasesMoved) continue;
    const delta: RollingDelta = new Map();
    // Each set of days read once per segment, whatever counts it, and only where a day's marks of it changed.
    const days = (bit: number) => ({ was: daysWith(marksWere, segment, bit), is: daysWith(marksAre, segment, bit) });
    if (bits & (VISITED | CONVERTED)) {
      const visits = days(VISITED);
      if (bits & VISITED) {
        distinct(delta, 'visitors', visits.was, visits.is);
        returning(delta, visits.was, visits.is);
      }
      convertedVisitors(delta, visits, days(CONVERTED));
    }
    if (bits & BOUGHT || purchasesMoved) {
      const bought = days(BOUGHT);
      if (bits & BOUGHT) distinct(delta, 'buyers', bought.was, bought.is);
      repeatBuyers(delta, bought, from);
    }
    if (bits & (BOUGHT | ORDERS)) windowRepeatBuyers(delta, orderDaysOf(marksWere, segment), orderDaysOf(marksAre, segment));
    // A day's list of sessions is replaced when a session joins it, so the same list on the
    // event's day means the same days: a busy customer's lists (up to 200 a day) are not searched.
    const { session, everySession } = input;
    const eventDay = windowKeyOf(segment, input.day);
    for (const field of ['sessions', 'timedSessions'] as const) {
      if ((bits & SESSION_BITS[field]) === 0) continue;
      const sessions =
        everySession === true
          ? new Set([...marksWere, ...marksAre].flatMap(({ segment: of, mark }) => (of === segment ? (mark[field] ?? []) : [])))
          : session !== null && before.marks[eventDay]?.[field] !== after.marks[eventDay]?.[field]
            ? [session]
            : [];
      for (const one of sessions)
        distinct(delta, field, daysOfSession(marksWere, segment, field, one), daysOfSession(marksAre, segment, field, one));
    }
    if (delta.size > 0) bySegment.set(segment, delta);
  }
  return bySegment;
}

/** Every segment a customer's marks name. */
export const segmentsMarked = (track: CustomerKpiTrack): string[] => [
  ...new Set(Object.keys(track.marks).map((key) => parseWindowKey(key).segment)),
];
