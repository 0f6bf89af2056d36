/**
 * Identity stitching's merge: an anonymous visitor's state and a customer's become one person's,
 * the state the union of their events would have made, and what that changes in the daily windows
 * and rolling counts. Pure.
 *
 * Every part of a customer's state is a summary in which order does not matter (counts add, firsts
 * take the earliest, "latest" values the latest in event time, marks are sets), so the merge of
 * two summaries is the summary of the union; the stage is recomputed over the merged evidence and
 * so can only rise. The visitor's partition takes back what the visitor counted in its windows
 * (handOverOf), and the customer's replaces what the customer counted with what the merged state
 * counts (mergeIdentities), so the KPI records of all partitions add up to one person: a visitor of a
 * day or a week once, never twice.
 */
import { DAY_MS, UNASSIGNED_SEGMENT } from '../../../schemas/event-contract.ts';
import { STAGES } from '../../../schemas/processor-outputs.ts';
import { dayEnd, dayOf, earlierTime, laterTime } from './calendar.ts';
import { mergeCheckouts, NO_CHECKOUTS } from './checkouts.ts';
import { earlierOf, laterOf, type CustomerState } from './customer.ts';
import { rollingSteps, segmentsMarked, type RollingDelta } from './rolling.ts';
import { stageOf, type StageEvidence, type StageRules, type StageTransition } from './stage.ts';
import { checkoutWindowsOf, NO_TRACK, stagesReached, withCheckouts, type CustomerKpiTrack, type SegmentDayMarks } from './window-deltas.ts';
import { addDelta, parseWindowKey, segmentsOf, windowKeyOf, type WindowDelta } from './window-counts.ts';
import { MAX_SESSIONS_PER_CUSTOMER_DAY } from './counted-by-kind.ts';

/** One identity's state, as the partition state keeps it (less its event ids). */
export interface IdentityState {
  readonly customer: CustomerState;
  readonly track: CustomerKpiTrack;
}

export interface MergeInput {
  /** The customer's state; undefined when the customer has none yet here. */
  readonly into: IdentityState | undefined;
  /** The anonymous visitor's state, handed over by its partition. */
  readonly from: IdentityState;
  readonly customerId: string;
  /** The event that linked the two. */
  readonly link: { readonly at: number; readonly event_id: string };
  readonly rules: StageRules;
  readonly timeZone: string;
  readonly checkoutAbandonedAfterMs: number;
}

export interface MergeStep extends IdentityState {
  /** When the union reaches a stage the customer had not: one transition, stamped with the link. */
  readonly transition: StageTransition | null;
  /** Corrections of the daily windows, per `segment|day`. */
  readonly deltas: Map<string, WindowDelta>;
  /** Corrections of the rolling counts, per segment. */
  readonly rolling: Map<string, RollingDelta>;
}

const sum = (a: number, b: number) => a + b;
const union = (a: readonly string[] = [], b: readonly string[] = [], max: number) => [...new Set([...a, ...b])].slice(0, max);

function mergeEvidence(a: StageEvidence, b: StageEvidence, rules: StageRules): StageEvidence {
  const firstFormAt: Record<string, number> = { ...a.firstFormAt };
  for (const [form, at] of Object.entries(b.firstFormAt)) firstFormAt[form] = Math.min(at, firstFormAt[form] ?? at);
  return {
    pageViews: sum(a.pageViews, b.pageViews),
    socialEngagements: sum(a.socialEngagements, b.socialEngagements),
    cartActions: sum(a.cartActions, b.cartActions),
    productOrPricingViews: sum(a.productOrPricingViews, b.productOrPricingViews),
    pageViewSessions: union(a.pageViewSessions, b.pageViewSessions, rules.considerationSessions),
    formSubmissions: sum(a.formSubmissions, b.formSubmissions),
    firstFormAt,
    purchases: sum(a.purchases, b.purchases),
    firstPurchaseAt: earlierTime(a.firstPurchaseAt, b.firstPurchaseAt),
    lastEventAt: laterTime(a.lastEventAt, b.lastEventAt),
    lastSurveyAt: laterTime(a.lastSurveyAt, b.lastSurveyAt),
  };
}

function addMoney(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): Record<string, string> {
  const total: Record<string, string> = { ...a };
  for (const [currency, minor] of Object.entries(b)) total[currency] = (BigInt(total[currency] ?? '0') + BigInt(minor)).toString();
  return total;
}

const rank = (stage: string) => STAGES.indexOf(stage as (typeof STAGES)[number]);

/** The customer as the union of both identities' events, and the stage change the union makes. */
function mergeCustomer(input: MergeInput): { customer: CustomerState; transition: StageTransition | null } {
  const { from, customerId, rules } = input;
  if (input.into === undefined) return { customer: { ...from.customer, customerId }, transition: null };
  const into = input.into.customer;
  const other = from.customer;
  const evidence = mergeEvidence(into.stage.evidence, other.stage.evidence, rules);
  const stage = stageOf(evidence, rules);
  // The stage since when either side reached it; a stage only the union reaches, since the link.
  const stageSince =
    stage === into.stage.stage && stage === other.stage.stage
      ? earlierTime(into.stage.stageSince, other.stage.stageSince)
      : stage === into.stage.stage
        ? into.stage.stageSince
        : stage === other.stage.stage
          ? other.stage.stageSince
          : input.link.at;
  const customer: CustomerState = {
    customerId,
    stage: { evidence, stage, stageSince },
    firstSeenAt: Math.min(into.firstSeenAt, other.firstSeenAt),
    lastSeenAt: Math.max(into.lastSeenAt, other.lastSeenAt),
    segment: laterOf(into.segment, other.segment),
    pageViews: sum(into.pageViews, other.pageViews),
    formsSubmitted: sum(into.formsSubmitted, other.formsSubmitted),
    purchases: sum(into.purchases, other.purchases),
    revenueMinor: (BigInt(into.revenueMinor) + BigInt(other.revenueMinor)).toString(),
    revenueByCurrency: addMoney(into.revenueByCurrency, other.revenueByCurrency),
    lastNps: laterOf(into.lastNps, other.lastNps),
    lastCsat: laterOf(into.lastCsat, other.lastCsat),
    lastCes: laterOf(into.lastCes, other.lastCes),
    referralSource: earlierOf(into.referralSource, other.referralSource),
    anonymousIds: into.anonymousIds + other.anonymousIds,
  };
  const transition =
    stage === into.stage.stage
      ? null
      : {
          customer_id: customerId,
          from_stage: into.stage.stage,
          to_stage: stage,
          at: stageSince ?? input.link.at,
          event_id: input.link.event_id,
        };
  return { customer, transition };
}

function mergeMark(a: SegmentDayMarks | undefined, b: SegmentDayMarks | undefined): SegmentDayMarks {
  if (a === undefined || b === undefined) return { ...(a ?? b) };
  const mark: SegmentDayMarks = {};
  if (a.visitor || b.visitor) mark.visitor = true;
  if (a.buyer || b.buyer) mark.buyer = true;
  if (a.converted || b.converted) mark.converted = true;
  if (a.orders !== undefined || b.orders !== undefined) mark.orders = Math.min(2, (a.orders ?? 0) + (b.orders ?? 0));
  if (a.sessions || b.sessions) mark.sessions = union(a.sessions, b.sessions, MAX_SESSIONS_PER_CUSTOMER_DAY);
  if (a.timedSessions || b.timedSessions) mark.timedSessions = union(a.timedSessions, b.timedSessions, MAX_SESSIONS_PER_CUSTOMER_DAY);
  return mark;
}

/** The marks and purchases of both identities as one customer's, with what is derived from them decided again. */
function mergeTrack(
  into: CustomerKpiTrack,
  from: CustomerKpiTrack,
  firstSeenAt: number,
  timeZone: string,
): Omit<CustomerKpiTrack, 'checkouts'> {
  const earliestPurchases = [...into.earliestPurchases, ...from.earliestPurchases].sort((a, b) => a - b).slice(0, 2);
  const [firstPurchase, secondPurchase] = earliestPurchases;
  const marks: Record<string, SegmentDayMarks> = {};
  for (const key of new Set([...Object.keys(into.marks), ...Object.keys(from.marks)])) {
    const mark = mergeMark(into.marks[key], from.marks[key]);
    delete mark.convertedVisitor;
    delete mark.repeatBuyer;
    if (mark.visitor && mark.converted) mark.convertedVisitor = true;
    // As windowDeltasOf decides it: a buyer of the day whose second purchase came before the day ended.
    if (mark.buyer && secondPurchase !== undefined && secondPurchase < dayEnd(parseWindowKey(key).day, timeZone)) mark.repeatBuyer = true;
    marks[key] = mark;
  }
  let cycle: CustomerKpiTrack['cycle'] = null;
  if (firstPurchase !== undefined) {
    // In the segment of the side whose purchase is the first.
    const side = into.earliestPurchases[0] === firstPurchase ? into : from;
    const segment = side.cycle === null ? UNASSIGNED_SEGMENT : parseWindowKey(side.cycle.key).segment;
    cycle = { key: windowKeyOf(segment, dayOf(firstPurchase, timeZone)), days: (firstPurchase - firstSeenAt) / DAY_MS };
  }
  return { marks, earliestPurchases, cycle, ...reachedOfBoth(into.reached, from.reached) };
}

/** Each stage either identity reached, counted where it was reached first (the customer's on a tie). */
function reachedOfBoth(
  into: Readonly<Record<string, string>> = {},
  from: Readonly<Record<string, string>> = {},
): Pick<CustomerKpiTrack, 'reached'> {
  const reached: Record<string, string> = { ...into };
  for (const [stage, key] of Object.entries(from)) {
    const kept = reached[stage];
    if (kept === undefined || parseWindowKey(key).day < parseWindowKey(kept).day) reached[stage] = key;
  }
  return Object.keys(reached).length === 0 ? {} : { reached };
}

/** What a track's marks and purchase cycle count in the daily windows: the distinct counts, per `segment|day`. */
function countedByTrack(track: CustomerKpiTrack): Map<string, WindowDelta> {
  const counted = new Map<string, WindowDelta>();
  for (const [key, mark] of Object.entries(track.marks)) {
    addDelta(counted, key, {
      visitors: mark.visitor ? 1 : 0,
      sessions: mark.sessions?.length ?? 0,
      timedSessions: mark.timedSessions?.length ?? 0,
      buyers: mark.buyer ? 1 : 0,
      windowRepeatBuyers: (mark.orders ?? 0) >= 2 ? 1 : 0,
      convertedVisitors: mark.convertedVisitor ? 1 : 0,
      repeatBuyers: mark.repeatBuyer ? 1 : 0,
    });
  }
  if (track.cycle !== null) {
    const { segment, day } = parseWindowKey(track.cycle.key);
    for (const s of segmentsOf(segment))
      addDelta(counted, windowKeyOf(s, day), { purchaseCycleDaysSum: track.cycle.days, firstPurchases: 1 });
  }
  for (const [stage, key] of Object.entries(track.reached ?? {})) {
    const { segment, day } = parseWindowKey(key);
    for (const s of segmentsOf(segment)) addDelta(counted, windowKeyOf(s, day), { transitionsTo: { [stage]: 1 } });
  }
  return counted;
}

/** `into` plus `sign` times every delta of `deltas`, in place. */
function addAll(into: Map<string, WindowDelta>, deltas: ReadonlyMap<string, WindowDelta>, sign: 1 | -1): void {
  for (const [key, delta] of deltas) addDelta(into, key, sign === 1 ? delta : negated(delta));
}

const minus = (n: number | bigint): number | bigint => -n;

function negated(delta: WindowDelta): WindowDelta {
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(delta) as [string, number | bigint | Readonly<Record<string, number | bigint>>][]) {
    out[field] = typeof value === 'object' ? Object.fromEntries(Object.entries(value).map(([key, n]) => [key, minus(n)])) : minus(value);
  }
  return out;
}

/**
 * What the visitor's own partition takes back when it hands the visitor over: everything its marks,
 * purchase cycle, checkouts and stages reached counted in the daily windows and the rolling counts. Each partition's
 * KPI records then stay its own customers' (never below zero), whichever days it has published yet.
 */
export function handOverOf(track: CustomerKpiTrack, timeZone: string): Pick<MergeStep, 'deltas' | 'rolling'> {
  const deltas = new Map<string, WindowDelta>();
  addAll(deltas, countedByTrack(track), -1);
  for (const [key, [started, completed]] of Object.entries(track.checkouts?.counted ?? {}))
    addDelta(deltas, key, { checkoutsStarted: -started, checkoutsCompleted: -completed });
  const rolling = rollingSteps({
    timeZone,
    session: null,
    everySession: true,
    day: '1970-01-01',
    before: track,
    after: NO_TRACK,
    segments: segmentsMarked(track),
  });
  return { deltas, rolling };
}

/** Merges an anonymous visitor's state into a customer's (see the top of this file). */
export function mergeIdentities(input: MergeInput): MergeStep {
  const { from, timeZone } = input;
  const into = input.into ?? { customer: { ...from.customer, customerId: input.customerId }, track: NO_TRACK };
  const { customer, transition } = mergeCustomer(input);
  const checkouts = mergeCheckouts(into.track.checkouts ?? NO_CHECKOUTS, from.track.checkouts ?? NO_CHECKOUTS, {
    abandonedAfterMs: input.checkoutAbandonedAfterMs,
    timeZone,
    windowsOf: checkoutWindowsOf,
  });
  const merged = mergeTrack(into.track, from.track, customer.firstSeenAt, timeZone);
  // A stage only the union reaches counts on the transition's day, in the customer's segment. (A
  // stage either identity had, as its stage says, is never counted again: not even one a state kept
  // from before `reached` was counted without recording where.)
  const before = Math.max(rank(into.customer.stage.stage), rank(from.customer.stage.stage));
  const reached = { ...merged.reached };
  if (transition !== null && rank(transition.to_stage) > before) {
    const where = windowKeyOf(customer.segment?.value ?? UNASSIGNED_SEGMENT, dayOf(transition.at, timeZone));
    for (const stage in stagesReached({ from: STAGES[before] ?? 'unaware', to: transition.to_stage })) reached[stage] = where;
  }
  const track: CustomerKpiTrack = {
    ...merged,
    ...withCheckouts(checkouts.track),
    ...(Object.keys(reached).length > 0 && { reached }),
  };

  // The visitor's partition took back what it counted (handOverOf); here the customer's counts
  // become the merged ones: every stage once per person, as every distinct count.
  const deltas = new Map<string, WindowDelta>();
  addAll(deltas, countedByTrack(track), 1);
  addAll(deltas, countedByTrack(into.track), -1);
  addAll(deltas, checkouts.deltas, 1);

  const rolling = rollingSteps({
    timeZone,
    session: null,
    everySession: true,
    day: dayOf(input.link.at, timeZone),
    before: into.track,
    after: track,
    segments: segmentsMarked(track),
  });
  return { customer, track, transition, deltas, rolling };
}
