/**
 * One customer's state as a pure function of (state, event): the funnel stage and the profile
 * analysts read. The caller applies each event once (state/recent-event-ids.ts recognises replays). "Latest" fields (segment, last survey scores) are
 * the latest by event time, not by arrival, so the profile — like the stage — is a function of the
 * set of events, whatever order they came in. The state is plain JSON so it can be written to a
 * compacted changelog topic and restored from it.
 */
import type { JourneyEvent } from '../../../schemas/event-contract.ts';
import { fromMinorUnits, toMinorUnits } from './kpis.ts';
import { applyEvent, DEFAULT_STAGE_RULES, NEW_CUSTOMER, type CustomerStage, type StageRules, type StageTransition } from './stage.ts';
import type { Stage } from '../../../schemas/processor-outputs.ts';

/** A value and the event time it was observed at; a later observation wins, ties by event_id. */
export interface Latest<T> {
  readonly value: T;
  readonly at: number;
  readonly event_id: string;
}

export interface CustomerState {
  readonly customerId: string;
  readonly stage: CustomerStage;
  readonly firstSeenAt: number;
  readonly lastSeenAt: number;
  readonly segment: Latest<string> | null;
  readonly pageViews: number;
  readonly formsSubmitted: number;
  readonly purchases: number;
  /** Exact, in ten-thousandths (kpis.toMinorUnits), as a string: JSON has no bigint. Every currency added up. */
  readonly revenueMinor: string;
  /** The same per ISO 4217 currency: the figure that means something when a customer pays in several. */
  readonly revenueByCurrency: Readonly<Record<string, string>>;
  readonly lastNps: Latest<number> | null;
  readonly lastCsat: Latest<number> | null;
  readonly lastCes: Latest<number> | null;
  /** How the customer heard of the business: the earliest answer, in event time. */
  readonly referralSource: Latest<string> | null;
  /** Anonymous ids whose history was merged into this customer (rules/merge.ts), bounded by IDENTITY_MAX_ANONYMOUS_IDS. */
  readonly anonymousIds: number;
}

/** The per-customer profile as published (compacted topic) and stored (ClickHouse). */
export interface CustomerProfile {
  readonly customer_id: string;
  readonly segment: string | null;
  readonly stage: Stage;
  readonly stage_since: number | null;
  readonly first_seen_at: number;
  readonly last_seen_at: number;
  readonly page_views: number;
  readonly forms_submitted: number;
  readonly purchases: number;
  readonly revenue: string;
  readonly revenue_by_currency: Readonly<Record<string, string>>;
  readonly first_purchase_at: number | null;
  readonly last_nps: number | null;
  readonly last_csat: number | null;
  readonly last_ces: number | null;
  readonly referral_source: string | null;
}

/** The earlier of two observations in event time (ties: the smaller event_id): arrival order does not matter. */
export function earlierOf<T>(a: Latest<T> | null, b: Latest<T> | null): Latest<T> | null {
  if (a === null || b === null) return a ?? b;
  if (a.at !== b.at) return a.at < b.at ? a : b;
  return a.event_id <= b.event_id ? a : b;
}

/** The later of two observations in event time (ties: the larger event_id). */
export function laterOf<T>(a: Latest<T> | null, b: Latest<T> | null): Latest<T> | null {
  if (a === null || b === null) return a ?? b;
  if (a.at !== b.at) return a.at > b.at ? a : b;
  return a.event_id >= b.event_id ? a : b;
}

const observed = <T>(value: T, event: JourneyEvent): Latest<T> => ({ value, at: event.occurred_at, event_id: event.event_id });
const earlier = <T>(current: Latest<T> | null, value: T, event: JourneyEvent): Latest<T> =>
  earlierOf(current, observed(value, event)) as Latest<T>;
const later = <T>(current: Latest<T> | null, value: T, event: JourneyEvent): Latest<T> =>
  laterOf(current, observed(value, event)) as Latest<T>;

export function newCustomer(customerId: string, firstEvent: JourneyEvent): CustomerState {
  return {
    customerId,
    stage: NEW_CUSTOMER,
    firstSeenAt: firstEvent.occurred_at,
    lastSeenAt: firstEvent.occurred_at,
    segment: null,
    pageViews: 0,
    formsSubmitted: 0,
    purchases: 0,
    revenueMinor: '0',
    revenueByCurrency: {},
    lastNps: null,
    lastCsat: null,
    lastCes: null,
    referralSource: null,
    anonymousIds: 0,
  };
}

export interface CustomerStep {
  readonly state: CustomerState;
  readonly transition: StageTransition | null;
}

export function applyToCustomer(
  previous: CustomerState | undefined,
  customerId: string,
  event: JourneyEvent,
  rules: StageRules = DEFAULT_STAGE_RULES,
): CustomerStep {
  const state = previous ?? newCustomer(customerId, event);
  const { state: stage, transition } = applyEvent(state.stage, event, customerId, rules);
  let next: CustomerState = {
    ...state,
    stage,
    firstSeenAt: Math.min(state.firstSeenAt, event.occurred_at),
    lastSeenAt: Math.max(state.lastSeenAt, event.occurred_at),
    segment: event.segment === null ? state.segment : later(state.segment, event.segment, event),
  };
  switch (event.type) {
    case 'page_view':
      next = { ...next, pageViews: next.pageViews + 1 };
      break;
    case 'form_submission': {
      const source = event.properties.referral_source;
      next = {
        ...next,
        formsSubmitted: next.formsSubmitted + 1,
        ...(source !== null && { referralSource: earlier(next.referralSource, source, event) }),
      };
      break;
    }
    case 'purchase':
      next = {
        ...next,
        purchases: next.purchases + 1,
        revenueMinor: (BigInt(next.revenueMinor) + toMinorUnits(event.properties.amount)).toString(),
        revenueByCurrency: {
          ...next.revenueByCurrency,
          [event.properties.currency]: (
            BigInt(next.revenueByCurrency[event.properties.currency] ?? '0') + toMinorUnits(event.properties.amount)
          ).toString(),
        },
      };
      break;
    case 'survey_response': {
      const { survey_type: kind, score } = event.properties;
      if (kind === 'nps') next = { ...next, lastNps: later(next.lastNps, score, event) };
      else if (kind === 'csat') next = { ...next, lastCsat: later(next.lastCsat, score, event) };
      else next = { ...next, lastCes: later(next.lastCes, score, event) };
      const source = event.properties.referral_source;
      if (source !== null) next = { ...next, referralSource: earlier(next.referralSource, source, event) };
      break;
    }
  }
  return { state: next, transition };
}

export function profileOf(state: CustomerState): CustomerProfile {
  return {
    customer_id: state.customerId,
    segment: state.segment?.value ?? null,
    stage: state.stage.stage,
    stage_since: state.stage.stageSince,
    first_seen_at: state.firstSeenAt,
    last_seen_at: state.lastSeenAt,
    page_views: state.pageViews,
    forms_submitted: state.formsSubmitted,
    purchases: state.purchases,
    revenue: fromMinorUnits(BigInt(state.revenueMinor)),
    revenue_by_currency: Object.fromEntries(
      Object.entries(state.revenueByCurrency).map(([currency, minor]) => [currency, fromMinorUnits(BigInt(minor))]),
    ),
    first_purchase_at: state.stage.evidence.firstPurchaseAt,
    last_nps: state.lastNps?.value ?? null,
    last_csat: state.lastCsat?.value ?? null,
    last_ces: state.lastCes?.value ?? null,
    referral_source: state.referralSource?.value ?? null,
  };
}
