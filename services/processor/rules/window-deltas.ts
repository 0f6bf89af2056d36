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
import { ALL_SEGMENTS, DAY_MS, UNASSIGNED_SEGMENT, type EventOf, type JourneyEvent } from '../../../schemas/event-contract.ts';
import { STAGES, type Stage } from '../../../schemas/processor-outputs.ts';
import { EMPTY_COUNTS, isSatisfied, npsClassOf, onFivePoints, toMinorUnits, type KpiCounts } from './kpis.ts';
import type { CommentSentiment } from '../../sentiment/sentiment.ts';
import { addDays, dayEnd, dayOf, type Day } from './calendar.ts';
import { checkoutStep, NO_CHECKOUTS, pruneCheckouts, type CheckoutTrack } from './checkouts.ts';

export { ALL_SEGMENTS, UNASSIGNED_SEGMENT };

/** Integer counters of one window; KpiCounts less what is computed at emission. */
export type WindowCounts = Omit<KpiCounts, 'dormantCustomers'> & {
  /** Transitions that happened in the window, by stage reached. */
  readonly transitionsTo: Readonly<Record<string, number>>;
  /**
   * Revenue per ISO 4217 currency, in ten-thousandths: amounts in different currencies are never
   * added up (revenueMinor, their plain sum, means something only in a one-currency segment).
   */
  readonly revenueByCurrency: Readonly<Record<string, bigint>>;
  /** Orders per ISO 4217 currency: with revenueByCurrency, the average order value of each currency. */
  readonly ordersByCurrency: Readonly<Record<string, number>>;
  /** Social engagements per network (a closed list: SOCIAL_NETWORKS). */
  readonly socialByNetwork: Readonly<Record<string, number>>;
};
export type WindowDelta = Partial<WindowCounts>;

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

export interface WindowKey {
  readonly segment: string;
  readonly day: Day;
}

/**
 * Distinct sessions counted per customer and day: past this a session id is not a visit any
 * more (a client minting one per request) and the marks would grow with the event count.
 */
export const MAX_SESSIONS_PER_CUSTOMER_DAY = 200;

export const windowKeyOf = (segment: string, day: Day): string => `${segment}|${day}`;
export function parseWindowKey(key: string): WindowKey {
  const cut = key.lastIndexOf('|');
  return { segment: key.slice(0, cut), day: key.slice(cut + 1) };
}

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

const plus = (a: unknown, b: number | bigint): number | bigint =>
  typeof b === 'bigint' ? ((a as bigint | undefined) ?? 0n) + b : ((a as number | undefined) ?? 0) + b;

type DeltaValue = number | bigint | Readonly<Record<string, number | bigint>>;

/**
 * Adds `delta` into `counts` in place, field by field: counts, money (bigint), and maps of either
 * by key. `counts` and the maps the delta touches must be the caller's own. Per event: no closures,
 * no entry arrays.
 */
export function addDeltaInto(counts: WindowDelta, delta: WindowDelta): void {
  const target = counts as Record<string, unknown>;
  const fields = delta as Readonly<Record<string, DeltaValue | undefined>>;
  for (const field in fields) {
    const value = fields[field];
    if (value === undefined) continue;
    if (typeof value !== 'object') {
      target[field] = plus(target[field], value);
      continue;
    }
    const into = (target[field] ??= {}) as Record<string, unknown>;
    for (const key in value) into[key] = plus(into[key], value[key] as number | bigint);
  }
}

/** Adds `delta` to the delta of window `key` in `deltas`: those deltas are made here, so they are changed in place. */
export function addDelta(deltas: Map<string, WindowDelta>, key: string, delta: WindowDelta): void {
  let into = deltas.get(key);
  if (into === undefined) {
    into = {};
    deltas.set(key, into);
  }
  addDeltaInto(into, delta);
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

/** The windows an event of `segment` counts in: its segment's and all segments' together. */
export const segmentsOf = (segment: string): string[] => (segment === ALL_SEGMENTS ? [ALL_SEGMENTS] : [segment, ALL_SEGMENTS]);

export function windowDeltasOf(input: WindowDeltasInput): WindowDeltas {
  const { event, track, timeZone } = input;
  const day = dayOf(event.occurred_at, timeZone);
  const segments = segmentsOf(input.segment);
  const deltas = new Map<string, WindowDelta>();
  // Copied on the first change only: most events (forms, surveys, a visit's later page views)
  // leave every mark as it was, and the copy is of all the customer's days.
  let marks = track.marks as Record<string, SegmentDayMarks>;
  const setMark = (key: string, mark: SegmentDayMarks) => {
    if (marks === track.marks) marks = { ...track.marks };
    marks[key] = mark;
  };
  let { earliestPurchases } = track;

  if (event.type === 'purchase') earliestPurchases = twoEarliest(earliestPurchases, event.occurred_at);
  const secondPurchase = earliestPurchases[1];
  const firstPurchase = earliestPurchases[0];

  const transitionsTo = input.countsInWindow && input.transition !== null ? stagesReached(input.transition) : null;
  let { reached } = track;
  if (transitionsTo !== null) {
    const where = windowKeyOf(input.segment, day);
    const withThese: Record<string, string> = { ...reached };
    for (const stage in transitionsTo) withThese[stage] = where;
    reached = withThese;
  }

  for (const segment of segments) {
    const key = windowKeyOf(segment, day);
    const mark: SegmentDayMarks = { ...(marks[key] ?? {}) };
    if (input.countsInWindow) {
      if (transitionsTo !== null) addDelta(deltas, key, { transitionsTo });
      switch (event.type) {
        case 'page_view': {
          const p = event.properties;
          const session = event.session_id;
          addDelta(deltas, key, {
            pageViews: 1,
            sessionPageViews: session === null ? 0 : 1,
            // A click implies the call to action was shown: CTR is never above 100 %.
            ctaImpressions: p.cta_shown || p.cta_clicked ? 1 : 0,
            ctaClicks: p.cta_clicked ? 1 : 0,
            ...(p.duration_ms !== null && {
              timeOnPageMsSum: p.duration_ms,
              timedPageViews: 1,
              // Time on site is per visit: a view outside any session is on the page, not in a visit.
              timeOnSiteMsSum: session === null ? 0 : p.duration_ms,
            }),
          });
          if (!mark.visitor) {
            mark.visitor = true;
            addDelta(deltas, key, { visitors: 1 });
          }
          if (
            session !== null &&
            (mark.sessions ?? []).length < MAX_SESSIONS_PER_CUSTOMER_DAY &&
            !(mark.sessions ?? []).includes(session)
          ) {
            mark.sessions = [...(mark.sessions ?? []), session];
            addDelta(deltas, key, { sessions: 1 });
          }
          if (
            session !== null &&
            p.duration_ms !== null &&
            (mark.timedSessions ?? []).length < MAX_SESSIONS_PER_CUSTOMER_DAY &&
            !(mark.timedSessions ?? []).includes(session)
          ) {
            mark.timedSessions = [...(mark.timedSessions ?? []), session];
            addDelta(deltas, key, { timedSessions: 1 });
          }
          break;
        }
        case 'form_submission':
          addDelta(deltas, key, { formsSubmitted: 1 });
          break;
        case 'purchase': {
          const minor = toMinorUnits(event.properties.amount);
          const { currency } = event.properties;
          addDelta(deltas, key, {
            orders: 1,
            revenueMinor: minor,
            revenueByCurrency: { [currency]: minor },
            ordersByCurrency: { [currency]: 1 },
          });
          if (!mark.buyer) {
            mark.buyer = true;
            addDelta(deltas, key, { buyers: 1 });
          }
          if ((mark.orders ?? 0) < 2) {
            mark.orders = (mark.orders ?? 0) + 1;
            if (mark.orders === 2) addDelta(deltas, key, { windowRepeatBuyers: 1 });
          }
          break;
        }
        case 'survey_response': {
          const { survey_type: kind, score } = event.properties;
          if (kind === 'nps') {
            const cls = npsClassOf(score);
            addDelta(
              deltas,
              key,
              cls === 'promoter' ? { npsPromoters: 1 } : cls === 'detractor' ? { npsDetractors: 1 } : { npsPassives: 1 },
            );
          } else if (kind === 'csat') {
            const five = onFivePoints(score, event.properties.scale ?? 5);
            addDelta(deltas, key, { csatSumMilli: Math.round(five * 1000), csatResponses: 1, csatSatisfied: isSatisfied(five) ? 1 : 0 });
          } else {
            const five = onFivePoints(score, event.properties.scale ?? 5, event.properties.ces_form ?? 'effort');
            addDelta(deltas, key, { cesSumMilli: Math.round(five * 1000), cesResponses: 1 });
          }
          addDelta(deltas, key, bySentiment(input.sentiment, COMMENT_COUNTERS));
          break;
        }
        case 'review': {
          const { rating } = event.properties;
          addDelta(deltas, key, {
            reviews: 1,
            reviewStarsSum: rating,
            lowRatedReviews: rating <= 2 ? 1 : 0,
            ...bySentiment(input.sentiment, REVIEW_COUNTERS),
          });
          break;
        }
        case 'social_engagement': {
          const { action, network } = event.properties;
          addDelta(deltas, key, {
            [SOCIAL_ACTION_COUNTER[action]]: 1,
            socialByNetwork: { [network]: 1 },
            ...bySentiment(input.sentiment, SOCIAL_COMMENT_COUNTERS),
          });
          break;
        }
        case 'cart': {
          const { action } = event.properties;
          if (action !== 'checkout_started') addDelta(deltas, key, action === 'add_to_cart' ? { cartAdds: 1 } : { cartRemovals: 1 });
          break;
        }
      }
    }
    if (input.countsInWindow && input.converts) mark.converted = true;
    if (mark.visitor && mark.converted && !mark.convertedVisitor) {
      mark.convertedVisitor = true;
      addDelta(deltas, key, { convertedVisitors: 1 });
    }
    const was = marks[key];
    if (was === undefined || !sameMarkFields(was, mark)) setMark(key, mark);
  }

  // Repeat buyers: a window's buyer is a repeat buyer once their second purchase (in event time)
  // precedes the window's end. A purchase can move the second purchase earlier, so every window
  // the customer bought in is re-checked, and only changes are counted.
  if (event.type === 'purchase' && secondPurchase !== undefined) {
    for (const [key, mark] of Object.entries(marks)) {
      if (!mark.buyer || mark.repeatBuyer) continue;
      if (secondPurchase < dayEnd(parseWindowKey(key).day, timeZone)) {
        setMark(key, { ...mark, repeatBuyer: true });
        addDelta(deltas, key, { repeatBuyers: 1 });
      }
    }
  }

  // Purchase cycle: counted in the window of the first purchase, from the first event. Either
  // end can move with a late event, so the old contribution is retracted and the new one added.
  let { cycle } = track;
  if (firstPurchase !== undefined) {
    const days = (firstPurchase - input.firstSeenAt) / DAY_MS;
    const cycleDay = dayOf(firstPurchase, timeZone);
    const cycleKey = windowKeyOf(input.segment, cycleDay);
    if (cycle === null || cycle.key !== cycleKey || cycle.days !== days) {
      const counted = segments.map((s) => windowKeyOf(s, cycleDay));
      if (cycle !== null) {
        const oldDay = parseWindowKey(cycle.key).day;
        const oldSegment = parseWindowKey(cycle.key).segment;
        for (const s of segmentsOf(oldSegment)) {
          addDelta(deltas, windowKeyOf(s, oldDay), { purchaseCycleDaysSum: -cycle.days, firstPurchases: -1 });
        }
      }
      for (const key of counted) addDelta(deltas, key, { purchaseCycleDaysSum: days, firstPurchases: 1 });
      cycle = { key: cycleKey, days };
    }
  }

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

  return { track: { marks, earliestPurchases, cycle, ...withCheckouts(checkouts.track), ...(reached && { reached }) }, deltas };
}

type Sentiment = CommentSentiment['sentiment'];
type NumericCounter = { [K in keyof WindowCounts]: WindowCounts[K] extends number ? K : never }[keyof WindowCounts];

/** The counter a text of each sentiment adds to; a sentiment without one (unscored reviews) adds nothing. */
const bySentiment = (sentiment: Sentiment | null, counters: Partial<Record<Sentiment, NumericCounter>>): WindowDelta => {
  const counter = sentiment === null ? undefined : counters[sentiment];
  return counter === undefined ? {} : { [counter]: 1 };
};
const COMMENT_COUNTERS = {
  positive: 'positiveComments',
  neutral: 'neutralComments',
  negative: 'negativeComments',
  unscored: 'unscoredComments',
} as const;
const REVIEW_COUNTERS = { positive: 'positiveReviews', neutral: 'neutralReviews', negative: 'negativeReviews' } as const;
const SOCIAL_COMMENT_COUNTERS = {
  positive: 'positiveSocialComments',
  neutral: 'neutralSocialComments',
  negative: 'negativeSocialComments',
} as const;

const SOCIAL_ACTION_COUNTER = {
  like: 'socialLikes',
  share: 'socialShares',
  comment: 'socialComments',
  video_view: 'socialVideoViews',
  reply: 'socialReplies',
} as const satisfies Readonly<Record<EventOf<'social_engagement'>['properties']['action'], keyof WindowCounts>>;

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

const { dormantCustomers: _computedAtEmission, ...emptyCounts } = EMPTY_COUNTS;
export const EMPTY_WINDOW: WindowCounts = {
  ...emptyCounts,
  transitionsTo: {},
  revenueByCurrency: {},
  ordersByCurrency: {},
  socialByNetwork: {},
};

/**
 * A window's counts to add deltas into in place (addDeltaInto): its maps are copied too, so
 * counts handed out before (a published partial) never change. One copy per window per batch
 * instead of one per event per window.
 */
export function ownCopyOf(counts: WindowCounts): WindowCounts {
  const copy: Record<string, unknown> = { ...counts };
  for (const field in copy) if (typeof copy[field] === 'object' && copy[field] !== null) copy[field] = { ...copy[field] };
  return copy as WindowCounts;
}

/** A window's counts as JSON (the changelog, the published partial): money as decimal strings of ten-thousandths. */
export function windowCountsToJson(counts: WindowCounts): Record<string, unknown> {
  const revenueByCurrency = Object.fromEntries(
    Object.entries(counts.revenueByCurrency).map(([currency, minor]) => [currency, minor.toString()]),
  );
  return { ...counts, revenueMinor: counts.revenueMinor.toString(), revenueByCurrency };
}

export function windowCountsFromJson(json: Record<string, unknown>): WindowCounts {
  const byCurrency = (json.revenueByCurrency ?? {}) as Record<string, string>;
  // Before scales, CSAT and CES sums were in points (all on 5): the same in thousandths.
  const { csatSum, cesSum, ...current } = json;
  const inPoints = (name: string, points: unknown) => (typeof points === 'number' ? { [name]: points * 1000 } : {});
  return {
    // Counters added since the record was written start at 0.
    ...EMPTY_WINDOW,
    ...inPoints('csatSumMilli', csatSum),
    ...inPoints('cesSumMilli', cesSum),
    ...(current as unknown as WindowCounts),
    revenueMinor: BigInt(json.revenueMinor as string),
    revenueByCurrency: Object.fromEntries(Object.entries(byCurrency).map(([currency, minor]) => [currency, BigInt(minor)])),
  };
}
