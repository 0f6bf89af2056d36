import { describe, expect, it } from 'vitest';
import type { JourneyEvent } from '../../../schemas/event-contract.ts';
import type { Stage } from '../../../schemas/processor-outputs.ts';
import {
  applyEvent,
  DEFAULT_STAGE_RULES,
  firstConversionAt,
  isConversion,
  NEW_CUSTOMER,
  stageOf,
  type CustomerStage,
  type StageRules,
  type StageTransition,
} from './stage.ts';
import { journeyEvent } from '../../../test/helpers/events.ts';

const T0 = Date.parse('2026-11-01T10:00:00Z');
const HOUR = 3600 * 1000;

function event(
  type: JourneyEvent['type'],
  atHours: number,
  extra: {
    page_type?: 'home' | 'product' | 'pricing';
    session?: string;
    form_type?: 'contact' | 'newsletter' | 'demo_request';
    cart_action?: 'add_to_cart' | 'remove_from_cart' | 'checkout_started';
  } = {},
): JourneyEvent {
  const fields = { at: T0 + atHours * HOUR, received_at: T0, customer_id: 'c', session_id: extra.session ?? 's1', segment: null };
  switch (type) {
    case 'page_view':
      return journeyEvent(type, fields, { url: 'https://x.example', page_type: extra.page_type ?? 'home' });
    case 'form_submission':
      return journeyEvent(type, fields, { form_type: extra.form_type ?? 'contact' });
    case 'cart':
      return journeyEvent(type, fields, { action: extra.cart_action ?? 'add_to_cart' });
    default:
      return journeyEvent(type, fields);
  }
}

function replay(
  events: readonly JourneyEvent[],
  rules: StageRules = DEFAULT_STAGE_RULES,
): { stage: Stage; transitions: StageTransition[]; state: CustomerStage } {
  let state = NEW_CUSTOMER;
  const transitions: StageTransition[] = [];
  for (const e of events) {
    const step = applyEvent(state, e, 'c', rules);
    state = step.state;
    if (step.transition) transitions.push(step.transition);
  }
  return { stage: state.stage, transitions, state };
}

const stageAfter = (events: readonly JourneyEvent[]) => replay(events).stage;

describe('stage rules', () => {
  it('starts unaware, and a survey alone keeps a customer there', () => {
    expect(stageAfter([])).toBe('unaware');
    expect(stageAfter([event('survey_response', 0)])).toBe('unaware');
  });

  it('discovery: one page view, or one engagement on a social network', () => {
    expect(stageAfter([event('page_view', 0)])).toBe('discovery');
    expect(stageAfter([event('social_engagement', 0)])).toBe('discovery');
  });

  it('consideration: an item put in a cart or a checkout started, not an item taken out', () => {
    expect(stageAfter([event('cart', 0)])).toBe('consideration');
    expect(stageAfter([event('cart', 0, { cart_action: 'checkout_started' })])).toBe('consideration');
    expect(stageAfter([event('cart', 0, { cart_action: 'remove_from_cart' })])).toBe('unaware');
  });

  it('consideration: a form, or 3 product/pricing views, or views in 2 sessions', () => {
    expect(stageAfter([event('form_submission', 0)])).toBe('consideration');
    expect(stageAfter([event('page_view', 0, { page_type: 'product' }), event('page_view', 1, { page_type: 'pricing' })])).toBe(
      'discovery',
    );
    expect(
      stageAfter([
        event('page_view', 0, { page_type: 'product' }),
        event('page_view', 1, { page_type: 'pricing' }),
        event('page_view', 2, { page_type: 'product' }),
      ]),
    ).toBe('consideration');
    expect(stageAfter([event('page_view', 0, { session: 'a' }), event('page_view', 1, { session: 'a' })])).toBe('discovery');
    expect(stageAfter([event('page_view', 0, { session: 'a' }), event('page_view', 1, { session: 'b' })])).toBe('consideration');
  });

  it('conversion: a purchase, even with nothing before it', () => {
    expect(stageAfter([event('purchase', 0)])).toBe('conversion');
  });

  it('ongoing engagement: a second purchase, a survey after the first purchase, or any event 24 h after it', () => {
    expect(stageAfter([event('purchase', 0), event('purchase', 1)])).toBe('ongoing_engagement');
    expect(stageAfter([event('purchase', 5), event('survey_response', 6)])).toBe('ongoing_engagement');
    expect(stageAfter([event('purchase', 5), event('survey_response', 4)])).toBe('conversion');
    expect(stageAfter([event('purchase', 0), event('page_view', 23.99)])).toBe('conversion');
    expect(stageAfter([event('purchase', 0), event('page_view', 24)])).toBe('ongoing_engagement');
  });

  it('a jump is one transition, at the event time of the event that made it true', () => {
    const view = event('page_view', 0);
    const buy = event('purchase', 2);
    expect(replay([view, buy]).transitions).toEqual([
      { customer_id: 'c', from_stage: 'unaware', to_stage: 'discovery', at: T0, event_id: view.event_id },
      { customer_id: 'c', from_stage: 'discovery', to_stage: 'conversion', at: T0 + 2 * HOUR, event_id: buy.event_id },
    ]);
    expect(replay([view, buy]).state.stageSince).toBe(T0 + 2 * HOUR);
  });

  it('gives the same stage for every arrival order, and never goes back', () => {
    const events = [
      event('survey_response', 30),
      event('page_view', 0, { session: 'a' }),
      event('page_view', 1, { session: 'b' }),
      event('purchase', 5),
      event('form_submission', 2),
    ];
    const order = STAGE_ORDER;
    for (const permutation of permutations(events)) {
      const { stage, transitions } = replay(permutation);
      expect(stage).toBe('ongoing_engagement');
      for (const t of transitions) expect(order.indexOf(t.to_stage)).toBeGreaterThan(order.indexOf(t.from_stage));
    }
  });

  it('judges "after the first purchase" by event time, not arrival', () => {
    // A survey written before the purchase does not engage, whichever arrives first...
    expect(stageAfter([event('purchase', 12), event('survey_response', 10)])).toBe('conversion');
    expect(stageAfter([event('survey_response', 10), event('purchase', 12)])).toBe('conversion');
    // ...and a visit 28 h after the purchase engages even when it arrived first.
    expect(stageAfter([event('page_view', 40), event('purchase', 12)])).toBe('ongoing_engagement');
  });
});

describe('conversion events (CONVERSION_EVENTS)', () => {
  const demoRequests: StageRules = { ...DEFAULT_STAGE_RULES, conversions: { purchase: false, forms: ['demo_request'] } };

  it('converts a B2B lead on a demo request, and not on a purchase when purchases are not conversions', () => {
    expect(replay([event('page_view', 0), event('form_submission', 1, { form_type: 'demo_request' })], demoRequests).stage).toBe(
      'conversion',
    );
    expect(replay([event('page_view', 0), event('form_submission', 1, { form_type: 'contact' })], demoRequests).stage).toBe(
      'consideration',
    );
    expect(isConversion(event('purchase', 2), demoRequests.conversions)).toBe(false);
    expect(isConversion(event('form_submission', 2, { form_type: 'demo_request' }), demoRequests.conversions)).toBe(true);
  });

  it('converts at the earliest conversion event of any configured kind, whatever the arrival order', () => {
    const both: StageRules = { ...DEFAULT_STAGE_RULES, conversions: { purchase: true, forms: ['newsletter'] } };
    const events = [event('page_view', 0), event('purchase', 30), event('form_submission', 5, { form_type: 'newsletter' })];
    for (const order of [events, [...events].reverse()]) {
      const { state } = replay(order, both);
      expect(firstConversionAt(state.evidence, both.conversions)).toBe(T0 + 5 * HOUR);
      expect(state.stage).toBe('ongoing_engagement');
    }
  });

  it('keeps what a changed configuration needs: a form seen under the default rules converts once forms count', () => {
    const underDefault = replay([event('page_view', 0), event('form_submission', 1, { form_type: 'demo_request' })]);
    expect(underDefault.stage).toBe('consideration');
    expect(stageOf(underDefault.state.evidence, demoRequests)).toBe('conversion');
  });
});

const STAGE_ORDER: readonly Stage[] = ['unaware', 'discovery', 'consideration', 'conversion', 'ongoing_engagement'];

function* permutations<T>(items: readonly T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield [...items];
    return;
  }
  for (let i = 0; i < items.length; i++) {
    const rest = [...items.slice(0, i), ...items.slice(i + 1)];
    for (const tail of permutations(rest)) yield [items[i] as T, ...tail];
  }
}
