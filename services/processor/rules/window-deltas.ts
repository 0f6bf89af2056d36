/**
 * What one event adds to the daily KPI windows, as integer deltas per (segment, day).
 *
 * Distinct counts (visitors, sessions, buyers, repeat buyers) are decided in the customer's own
 * record of which segment-days it already counted in, so a window holds only integers. Because
 * partitions are keyed by customer, every distinct set is disjoint across partitions: the windows
 * of all partitions add up exactly, with no repartitioning.
 *
 * Events count in the event's segment (else the customer's latest known one, else
 * `unassigned`) and in `*`, all segments together. Pure.
 */
import { DAY_MS, type JourneyEvent } from '../../../schemas/event-contract.ts';
import { STAGES, type Stage } from '../../../schemas/processor-outputs.ts';
import type { CommentSentiment } from '../../sentiment/sentiment.ts';
import { addDays, dayEnd, dayOf, type Day } from './calendar.ts';
import { checkoutStep, NO_CHECKOUTS, pruneCheckouts, type CheckoutTrack } from './checkouts.ts';
import { countInWindow } from './counted-by-kind.ts';
import { addDelta, parseWindowKey, segmentsOf, windowKeyOf, type WindowDelta } from './window-counts.ts';

/** What a customer has already been counted as, per `segment|day`. */
export interface SegmentDayMarks {
  visitor?: true;
  buyer?: true;
  /** Converted that day (a conversion event: CONVERSION_EVENTS). */
  converted?: true;
  /** Counted among the day's visitors who converted. */
  convertedVisitor?: true;
  repeatBuyer?: true;
  /** Purchases on the day, up to 2: enough to tell a repeat purchase within any window. */
  orders?: number;
  sessions?: string[];
  timedSessions?: string[];
}

export interface CustomerKpiTrack {
  readonly marks: Readonly<Record<string, SegmentDayMarks>>;
  /** The two earliest purchase times: the second one decides "repeat buyer" for any window. */
  readonly earliestPurchases: readonly number[];
  /** The purchase-cycle contribution currently counted, so it can be retracted when it changes. */
  readonly cycle: { readonly key: string; readonly days: number } | null;
  /** Checkout signals and purchases, and what their checkouts count (rules/checkouts.ts); absent while there are none. */
  readonly checkouts?: CheckoutTrack;
  /**
   * Where each stage this identity reached was counted in transitions_to: stage → the window key
   * (`segment|day`, counted in that segment's and all segments' windows). At most one per stage;
   * a merge keeps one per person (rules/merge.ts). Absent while none is, and in states written before it.
   */
  readonly reached?: Readonly<Record<string, string>>;
}

export const NO_TRACK: CustomerKpiTrack = { marks: {}, earliestPurchases: [], cycle: null };

export interface WindowDeltasInput {
  readonly event: JourneyEvent;
  readonly segment: string;
  readonly track: CustomerKpiTrack;
  /** The customer's first event time, after this event. */
  readonly firstSeenAt: number;
  /** The stage transition this event caused, if any. */
  readonly transition: { readonly from: string; readonly to: string } | null;
  readonly timeZone: string;
  /** Whether this event may still change its daily window (not too late). */
  readonly countsInWindow: boolean;
  /** Whether the event is a conversion (CONVERSION_EVENTS: a purchase by default). */
  readonly converts: boolean;
  /** Sentiment of the event's comment, if it has one (computed once by the caller). */
  readonly sentiment: CommentSentiment['sentiment'] | null;
  /** How long a checkout waits for its purchase before it is abandoned (CHECKOUT_ABANDONED_AFTER_MIN). */
  readonly checkoutAbandonedAfterMs: number;
}

/** Whether two marks of a day hold the same fields and values (lists by reference: a list that changes is replaced). */
function sameMarkFields(a: SegmentDayMarks, b: SegmentDayMarks): boolean {
  const [x, y] = [a as Readonly<Record<string, unknown>>, b as Readonly<Record<string, unknown>>];
  for (const field in x) if (x[field] !== y[field]) return false;
  for (const field in y) if (!(field in x)) return false;
  return true;
}

export interface WindowDeltas {
  readonly track: CustomerKpiTrack;
  readonly deltas: ReadonlyMap<string, WindowDelta>;
}

function twoEarliest(times: readonly number[], at: number): number[] {
  return [...times, at].sort((a, b) => a - b).slice(0, 2);
}

/**
 * The stages a transition reaches: a jump passes every stage between (unaware → conversion reaches
 * discovery, consideration and conversion), so "customers who reached a stage" counts them all.
 */
export function stagesReached(transition: { readonly from: string; readonly to: string }): Record<string, number> {
  const from = STAGES.indexOf(transition.from as Stage);
  const to = STAGES.indexOf(transition.to as Stage);
  const reached = from >= 0 && to > from ? STAGES.slice(from + 1, to + 1) : [transition.to];
  return Object.fromEntries(reached.map((stage) => [stage, 1]));
}

/** The customer's marks, copied on the first change only: most events (forms, surveys, a visit's later page views) change none. */
class MarksOnWrite {
  private readonly original: Readonly<Record<string, SegmentDayMarks>>;
  current: Readonly<Record<string, SegmentDayMarks>>;

  constructor(original: Readonly<Record<string, SegmentDayMarks>>) {
    this.original = original;
    this.current = original;
  }

  set(key: string, mark: SegmentDayMarks): void {
    if (this.current === this.original) this.current = { ...this.original };
    (this.current as Record<string, SegmentDayMarks>)[key] = mark;
  }
}

/** The stages this event's transition reached, counted in the window it happened in (see CustomerKpiTrack.reached). */
function reachedWith(reached: CustomerKpiTrack['reached'], transitionsTo: Readonly<Record<string, number>>, where: string) {
  const withThese: Record<string, string> = { ...reached };
  for (const stage in transitionsTo) withThese[stage] = where;
  return withThese;
}

/** What the event counts in one of its day's windows (its segment's, or all segments'), and the marks it sets there. */
function countInDay(
  input: WindowDeltasInput,
  key: string,
  transitionsTo: Readonly<Record<string, number>> | null,
  marks: MarksOnWrite,
  deltas: Map<string, WindowDelta>,
): void {
  const { event } = input;
  const mark: SegmentDayMarks = { ...(marks.current[key] ?? {}) };
  if (input.countsInWindow) {
    if (transitionsTo !== null) addDelta(deltas, key, { transitionsTo });
    countInWindow(event, mark, deltas, key, input.sentiment);
    if (input.converts) mark.converted = true;
  }
  if (mark.visitor && mark.converted && !mark.convertedVisitor) {
    mark.convertedVisitor = true;
    addDelta(deltas, key, { convertedVisitors: 1 });
  }
  const was = marks.current[key];
  if (was === undefined || !sameMarkFields(was, mark)) marks.set(key, mark);
}

/**
 * Repeat buyers: a window's buyer is a repeat buyer once their second purchase (in event time)
 * precedes the window's end. A purchase can move the second purchase earlier, so every window the
 * customer bought in is checked again, and only changes are counted.
 */
function countRepeatBuyers(marks: MarksOnWrite, secondPurchase: number, timeZone: string, deltas: Map<string, WindowDelta>): void {
  for (const [key, mark] of Object.entries(marks.current)) {
    if (!mark.buyer || mark.repeatBuyer) continue;
    if (secondPurchase < dayEnd(parseWindowKey(key).day, timeZone)) {
      marks.set(key, { ...mark, repeatBuyer: true });
      addDelta(deltas, key, { repeatBuyers: 1 });
    }
  }
}

/**
 * Purchase cycle: counted in the window of the first purchase, from the first event. Either end
 * can move with a late event, so the old contribution is retracted and the new one added.
 */
function countPurchaseCycle(
  cycle: CustomerKpiTrack['cycle'],
  firstPurchase: number,
  input: WindowDeltasInput,
  deltas: Map<string, WindowDelta>,
): CustomerKpiTrack['cycle'] {
  const days = (firstPurchase - input.firstSeenAt) / DAY_MS;
  const cycleDay = dayOf(firstPurchase, input.timeZone);
  const cycleKey = windowKeyOf(input.segment, cycleDay);
  if (cycle !== null && cycle.key === cycleKey && cycle.days === days) return cycle;
  if (cycle !== null) {
    const { day: oldDay, segment: oldSegment } = parseWindowKey(cycle.key);
    for (const s of segmentsOf(oldSegment))
      addDelta(deltas, windowKeyOf(s, oldDay), { purchaseCycleDaysSum: -cycle.days, firstPurchases: -1 });
  }
  for (const s of segmentsOf(input.segment)) addDelta(deltas, windowKeyOf(s, cycleDay), { purchaseCycleDaysSum: days, firstPurchases: 1 });
  return { key: cycleKey, days };
}

export function windowDeltasOf(input: WindowDeltasInput): WindowDeltas {
  const { event, track, timeZone } = input;
  const day = dayOf(event.occurred_at, timeZone);
  const deltas = new Map<string, WindowDelta>();
  const marks = new MarksOnWrite(track.marks);
  const earliestPurchases = event.type === 'purchase' ? twoEarliest(track.earliestPurchases, event.occurred_at) : track.earliestPurchases;
  const transitionsTo = input.countsInWindow && input.transition !== null ? stagesReached(input.transition) : null;
  const reached = transitionsTo === null ? track.reached : reachedWith(track.reached, transitionsTo, windowKeyOf(input.segment, day));

  for (const segment of segmentsOf(input.segment)) countInDay(input, windowKeyOf(segment, day), transitionsTo, marks, deltas);
  const [firstPurchase, secondPurchase] = earliestPurchases;
  if (event.type === 'purchase' && secondPurchase !== undefined) countRepeatBuyers(marks, secondPurchase, timeZone, deltas);
  const cycle = firstPurchase === undefined ? track.cycle : countPurchaseCycle(track.cycle, firstPurchase, input, deltas);

  // Checkouts count on the day they started, whichever event (a purchase) decides them.
  const checkouts = checkoutStep({
    track: track.checkouts ?? NO_CHECKOUTS,
    event,
    segment: input.segment,
    abandonedAfterMs: input.checkoutAbandonedAfterMs,
    timeZone,
    windowsOf: checkoutWindowsOf,
  });
  for (const [key, delta] of checkouts.deltas) addDelta(deltas, key, delta);

  const track_ = { marks: marks.current, earliestPurchases, cycle, ...withCheckouts(checkouts.track), ...(reached && { reached }) };
  return { track: track_, deltas };
}

/** The windows a checkout counts in: its segment's and all segments' together. */
export const checkoutWindowsOf = (segment: string, day: Day): string[] => segmentsOf(segment).map((s) => windowKeyOf(s, day));

/** The track keeps no checkout record for a customer without any (most of them): smaller changelog records. */
export const withCheckouts = (checkouts: CheckoutTrack): { checkouts?: CheckoutTrack } =>
  checkouts.signals.length === 0 &&
  checkouts.purchases.length === 0 &&
  Object.keys(checkouts.counted).length === 0 &&
  checkouts.absorbedUntil === null
    ? {}
    : { checkouts };

/**
 * Drops marks of days older than `oldestDay`, which no window can revise any more, but for the
 * visit itself back to `oldestVisitDay` (returning visitors look one window further back); and
 * checkouts that started before `checkouts.oldestOpenDay`, with the purchases only they could
 * use (checkouts are summed, not counted distinct over rolling windows: open days are enough).
 */
export function pruneTrack(
  track: CustomerKpiTrack,
  oldestDay: Day,
  oldestVisitDay: Day,
  checkouts: { readonly oldestOpenDay: Day; readonly abandonedAfterMs: number; readonly timeZone: string },
): CustomerKpiTrack {
  const marks: Record<string, SegmentDayMarks> = {};
  for (const [key, mark] of Object.entries(track.marks)) {
    const { day } = parseWindowKey(key);
    if (day >= oldestDay) marks[key] = mark;
    else if (day >= oldestVisitDay && mark.visitor === true) marks[key] = { visitor: true };
  }
  const { checkouts: kept, ...rest } = track;
  if (kept === undefined) return { ...rest, marks };
  const keepFrom = dayEnd(addDays(checkouts.oldestOpenDay, -1), checkouts.timeZone);
  return { ...rest, marks, ...withCheckouts(pruneCheckouts(kept, keepFrom, { ...checkouts, windowsOf: checkoutWindowsOf })) };
}
