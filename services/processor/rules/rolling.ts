/**
 * Rolling 7- and 30-day views derived from the daily windows. Sums (page views, revenue, …) of a
 * rolling window are sums of its days, so a reader adds the daily windows up. Distinct counts are
 * not: a customer who visits on three of seven days is one visitor of the week. Those are decided
 * here, from the customer's own record of the days it was counted on (attribution.ts marks), as
 * integer deltas per (segment, window end day) — so, like the daily windows, the shares of all
 * partitions add up exactly.
 *
 * Each change is worked out as "covered after" minus "covered before" for every window end the
 * change can reach, so an event arriving late or out of order moves the counts to exactly what the
 * set of events says. Pure.
 */
import { parseWindowKey, windowKeyOf, type CustomerKpiTrack, type SegmentDayMarks } from './attribution.ts';
import { dayEnd, type Day } from './windows.ts';

export const ROLLING_LENGTHS = [7, 30] as const;
export type RollingLength = (typeof ROLLING_LENGTHS)[number];
/** How many days of marks a customer keeps beyond the oldest open window. */
export const ROLLING_LOOKBACK_DAYS = Math.max(...ROLLING_LENGTHS) - 1;

export const ROLLING_FIELDS = ['visitors', 'sessions', 'timedSessions', 'buyers', 'repeatBuyers'] as const;
export type RollingField = (typeof ROLLING_FIELDS)[number];
export type RollingCounts = Readonly<Record<`${RollingLength}`, Readonly<Record<RollingField, number>>>>;

const zero = (): Record<RollingField, number> => ({ visitors: 0, sessions: 0, timedSessions: 0, buyers: 0, repeatBuyers: 0 });
export const EMPTY_ROLLING: RollingCounts = { '7': zero(), '30': zero() };

const sum = (x: Readonly<Record<RollingField, number>>, y: Readonly<Record<RollingField, number>>): Record<RollingField, number> => ({
  visitors: x.visitors + y.visitors,
  sessions: x.sessions + y.sessions,
  timedSessions: x.timedSessions + y.timedSessions,
  buyers: x.buyers + y.buyers,
  repeatBuyers: x.repeatBuyers + y.repeatBuyers,
});

export function addRolling(a: RollingCounts, b: RollingCounts): RollingCounts {
  return { '7': sum(a['7'], b['7']), '30': sum(a['30'], b['30']) };
}

export const isEmptyRolling = (r: RollingCounts): boolean => ROLLING_LENGTHS.every((l) => ROLLING_FIELDS.every((f) => r[l][f] === 0));

// Days as whole numbers (days since 1970-01-01) here: this runs for every event, over up to 37
// window ends each, and calendar arithmetic on strings was most of the processor's time.
const DAY_MS = 86_400_000;
const numberOf = (day: Day): number => Date.UTC(Number(day.slice(0, 4)), Number(day.slice(5, 7)) - 1, Number(day.slice(8, 10))) / DAY_MS;
const names = new Map<number, Day>();
function nameOf(n: number): Day {
  let name = names.get(n);
  if (name === undefined) {
    name = new Date(n * DAY_MS).toISOString().slice(0, 10);
    if (names.size > 100_000) names.clear();
    names.set(n, name);
  }
  return name;
}

/** Days (ascending) on which `segment` marks satisfy `has`. */
function daysWith(marks: Readonly<Record<string, SegmentDayMarks>>, segment: string, has: (mark: SegmentDayMarks) => boolean): number[] {
  const days: number[] = [];
  for (const [key, mark] of Object.entries(marks)) {
    const parsed = parseWindowKey(key);
    if (parsed.segment === segment && has(mark)) days.push(numberOf(parsed.day));
  }
  return days.sort((a, b) => a - b);
}

/** Whether some day of `days` lies in the window of `length` days ending `end`. */
const covered = (days: readonly number[], end: number, length: number): boolean => days.some((d) => d > end - length && d <= end);

const sameDays = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

export interface RollingInput {
  readonly before: CustomerKpiTrack;
  readonly after: CustomerKpiTrack;
  /** The segments the event counted in (its segment and `*`). */
  readonly segments: readonly string[];
  /** The event's session, if any: the only session whose days can have changed. */
  readonly session: string | null;
  readonly timeZone: string;
}

export function rollingDeltas(input: RollingInput): Map<string, RollingCounts> {
  const { before, after } = input;
  const deltas = new Map<string, Record<`${RollingLength}`, Record<RollingField, number>>>();
  const bump = (segment: string, end: number, length: RollingLength, field: RollingField, by: number) => {
    if (by === 0) return;
    const key = windowKeyOf(segment, nameOf(end));
    const delta = deltas.get(key) ?? { '7': zero(), '30': zero() };
    delta[length][field] += by;
    deltas.set(key, delta);
  };
  /** For a token counted once per window (a visitor, a session, …): the windows it entered or left. */
  const distinct = (segment: string, field: RollingField, has: (mark: SegmentDayMarks) => boolean) => {
    const was = daysWith(before.marks, segment, has);
    const is = daysWith(after.marks, segment, has);
    if (sameDays(was, is)) return;
    const changed = [...was.filter((d) => !is.includes(d)), ...is.filter((d) => !was.includes(d))].sort((a, b) => a - b);
    const first = changed[0];
    const last = changed.at(-1);
    if (first === undefined || last === undefined) return;
    for (const length of ROLLING_LENGTHS) {
      for (let end = first; end <= last + length - 1; end++) {
        bump(segment, end, length, field, Number(covered(is, end, length)) - Number(covered(was, end, length)));
      }
    }
  };

  const endOf = (day: number) => dayEnd(nameOf(day), input.timeZone);

  for (const segment of input.segments) {
    distinct(segment, 'visitors', (m) => m.visitor === true);
    distinct(segment, 'buyers', (m) => m.buyer === true);
    const session = input.session;
    if (session !== null) {
      distinct(segment, 'sessions', (m) => m.sessions?.includes(session) === true);
      distinct(segment, 'timedSessions', (m) => m.timedSessions?.includes(session) === true);
    }
    // A window's buyer is a repeat buyer once their second purchase precedes the window's end.
    const secondBefore = before.earliestPurchases[1];
    const secondAfter = after.earliestPurchases[1];
    const boughtBefore = daysWith(before.marks, segment, (m) => m.buyer === true);
    const boughtAfter = daysWith(after.marks, segment, (m) => m.buyer === true);
    if (secondBefore === secondAfter && sameDays(boughtBefore, boughtAfter)) continue;
    const all = [...new Set([...boughtBefore, ...boughtAfter])].sort((a, b) => a - b);
    const first = all[0];
    const last = all.at(-1);
    if (first === undefined || last === undefined) continue;
    for (const length of ROLLING_LENGTHS) {
      for (let end = first; end <= last + length - 1; end++) {
        const was = secondBefore !== undefined && secondBefore < endOf(end) && covered(boughtBefore, end, length);
        const is = secondAfter !== undefined && secondAfter < endOf(end) && covered(boughtAfter, end, length);
        bump(segment, end, length, 'repeatBuyers', Number(is) - Number(was));
      }
    }
  }
  return deltas;
}
