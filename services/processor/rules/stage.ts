/**
 * Funnel stage rules: a customer's stage is the highest stage whose condition holds over the SET
 * of that customer's events. The evidence kept per customer is a summary of that set in which
 * every field only grows (counts, maxima) or only shrinks (the first purchase time), and every
 * condition is monotone in it, so arrival order cannot change the stage and it never goes back.
 * Pure: no I/O, no clock.
 */
import type { FORM_TYPES, JourneyEvent } from '../../../schemas/event-contract.ts';
import type { Stage } from '../../../schemas/processor-outputs.ts';
import { earlierTime, laterTime } from './calendar.ts';

/** What counts as a conversion: a purchase (the default), and/or the submission of a form of these types. */
export interface ConversionEvents {
  readonly purchase: boolean;
  readonly forms: readonly (typeof FORM_TYPES)[number][];
}

export interface StageRules {
  /** conversion: the customer's first conversion event (CONVERSION_EVENTS). */
  readonly conversions: ConversionEvents;
  /** consideration: this many page views of product or pricing pages... */
  readonly considerationProductViews: number;
  /** ...or page views in this many distinct sessions. */
  readonly considerationSessions: number;
  /** ongoing_engagement: a second purchase, a survey after the first conversion, or any event at least this long after it. */
  readonly engagementAfterPurchaseMs: number;
}

export const DEFAULT_STAGE_RULES: StageRules = {
  conversions: { purchase: true, forms: [] },
  considerationProductViews: 3,
  considerationSessions: 2,
  engagementAfterPurchaseMs: 24 * 3600 * 1000,
};

/** What the rules need to know about a customer's events; independent of their order. */
export interface StageEvidence {
  readonly pageViews: number;
  /** Likes, shares, comments, video views and replies on social networks: the customer knows the business. */
  readonly socialEngagements: number;
  /** Items put in a cart or checkouts started: intent to buy. */
  readonly cartActions: number;
  readonly productOrPricingViews: number;
  /** Distinct sessions with a page view, kept only up to the number the rule needs. */
  readonly pageViewSessions: readonly string[];
  readonly formSubmissions: number;
  /** The earliest submission of each form type: enough to judge any CONVERSION_EVENTS, even a changed one. */
  readonly firstFormAt: Readonly<Record<string, number>>;
  readonly purchases: number;
  readonly firstPurchaseAt: number | null;
  readonly lastEventAt: number | null;
  readonly lastSurveyAt: number | null;
}

export const NO_EVIDENCE: StageEvidence = {
  pageViews: 0,
  socialEngagements: 0,
  cartActions: 0,
  productOrPricingViews: 0,
  pageViewSessions: [],
  formSubmissions: 0,
  firstFormAt: {},
  purchases: 0,
  firstPurchaseAt: null,
  lastEventAt: null,
  lastSurveyAt: null,
};

const min = (a: number | null, b: number): number => earlierTime(a, b) ?? b;
const max = (a: number | null, b: number): number => laterTime(a, b) ?? b;

/** Adds one (not previously seen) event to the evidence. */
export function addEvidence(evidence: StageEvidence, event: JourneyEvent, rules: StageRules): StageEvidence {
  const at = event.occurred_at;
  const next = { ...evidence, lastEventAt: max(evidence.lastEventAt, at) };
  switch (event.type) {
    case 'page_view': {
      const session = event.session_id;
      const sessions =
        session !== null && !evidence.pageViewSessions.includes(session) && evidence.pageViewSessions.length < rules.considerationSessions
          ? [...evidence.pageViewSessions, session]
          : evidence.pageViewSessions;
      const productOrPricing = event.properties.page_type === 'product' || event.properties.page_type === 'pricing';
      return {
        ...next,
        pageViews: evidence.pageViews + 1,
        productOrPricingViews: evidence.productOrPricingViews + (productOrPricing ? 1 : 0),
        pageViewSessions: sessions,
      };
    }
    case 'form_submission': {
      const type = event.properties.form_type;
      return {
        ...next,
        formSubmissions: evidence.formSubmissions + 1,
        firstFormAt: { ...evidence.firstFormAt, [type]: min(evidence.firstFormAt[type] ?? null, at) },
      };
    }
    case 'purchase':
      return { ...next, purchases: evidence.purchases + 1, firstPurchaseAt: min(evidence.firstPurchaseAt, at) };
    case 'survey_response':
      return { ...next, lastSurveyAt: max(evidence.lastSurveyAt, at) };
    case 'review':
    case 'identify':
      return next;
    case 'social_engagement':
      return { ...next, socialEngagements: evidence.socialEngagements + 1 };
    case 'cart':
      // Taking an item out of the cart shows no intent to buy.
      return event.properties.action === 'remove_from_cart' ? next : { ...next, cartActions: evidence.cartActions + 1 };
  }
}

/** When the customer first converted, by the configured conversion events; null if not yet. */
export function firstConversionAt(evidence: StageEvidence, conversions: ConversionEvents): number | null {
  let first = conversions.purchase ? evidence.firstPurchaseAt : null;
  for (const form of conversions.forms) {
    const at = evidence.firstFormAt[form];
    if (at !== undefined) first = min(first, at);
  }
  return first;
}

/** Whether an event is a conversion by the configured conversion events. */
export function isConversion(event: JourneyEvent, conversions: ConversionEvents): boolean {
  if (event.type === 'purchase') return conversions.purchase;
  return event.type === 'form_submission' && conversions.forms.includes(event.properties.form_type);
}

/** The highest stage whose condition holds. */
export function stageOf(evidence: StageEvidence, rules: StageRules): Stage {
  const converted = firstConversionAt(evidence, rules.conversions);
  if (converted !== null) {
    const engaged =
      evidence.purchases >= 2 ||
      (evidence.lastSurveyAt !== null && evidence.lastSurveyAt > converted) ||
      (evidence.lastEventAt !== null && evidence.lastEventAt - converted >= rules.engagementAfterPurchaseMs);
    return engaged ? 'ongoing_engagement' : 'conversion';
  }
  if (
    evidence.formSubmissions >= 1 ||
    evidence.cartActions >= 1 ||
    evidence.productOrPricingViews >= rules.considerationProductViews ||
    evidence.pageViewSessions.length >= rules.considerationSessions
  ) {
    return 'consideration';
  }
  return evidence.pageViews >= 1 || evidence.socialEngagements >= 1 ? 'discovery' : 'unaware';
}

export interface StageTransition {
  readonly customer_id: string;
  readonly from_stage: Stage;
  readonly to_stage: Stage;
  /** Event time of the event that made the new stage's condition true. */
  readonly at: number;
  readonly event_id: string;
}

export interface CustomerStage {
  readonly evidence: StageEvidence;
  readonly stage: Stage;
  /** When the current stage was reached (event time), null while unaware. */
  readonly stageSince: number | null;
}

export const NEW_CUSTOMER: CustomerStage = { evidence: NO_EVIDENCE, stage: 'unaware', stageSince: null };

/**
 * Applies one event. A jump across several stages is one transition. The caller dedupes by
 * event_id first: evidence counts events, so a replay must not reach here twice.
 */
export function applyEvent(
  state: CustomerStage,
  event: JourneyEvent,
  customerId: string,
  rules: StageRules = DEFAULT_STAGE_RULES,
): { state: CustomerStage; transition: StageTransition | null } {
  const evidence = addEvidence(state.evidence, event, rules);
  const stage = stageOf(evidence, rules);
  if (stage === state.stage) return { state: { ...state, evidence }, transition: null };
  return {
    state: { evidence, stage, stageSince: event.occurred_at },
    transition: { customer_id: customerId, from_stage: state.stage, to_stage: stage, at: event.occurred_at, event_id: event.event_id },
  };
}
