import { describe, expect, it } from 'vitest';
import type { JourneyEvent } from '../../../schemas/event-contract.ts';
import { applyToCustomer, profileOf, type CustomerState } from './customer.ts';
import { journeyEvent } from '../../../test/helpers/events.ts';

const T0 = Date.parse('2026-11-01T10:00:00Z');
const HOUR = 3600 * 1000;

const fields = (id: number, atHours: number, segment: string | null = null) => ({
  n: id,
  at: T0 + atHours * HOUR,
  received_at: T0,
  customer_id: 'c-1',
  session_id: 's',
  segment,
});
const view = (id: number, h: number, segment: string | null = null): JourneyEvent =>
  journeyEvent('page_view', fields(id, h, segment), { url: 'https://x.example', page_type: 'pricing', duration_ms: 1000 });
const buy = (id: number, h: number, amount: string): JourneyEvent => journeyEvent('purchase', fields(id, h), { amount });
const nps = (id: number, h: number, score: number): JourneyEvent => journeyEvent('survey_response', fields(id, h), { score });

function run(events: readonly JourneyEvent[]): { state: CustomerState | undefined } {
  let state: CustomerState | undefined;
  for (const e of events) state = applyToCustomer(state, 'c-1', e).state;
  return { state };
}

describe('applyToCustomer', () => {
  const events = [view(1, 0, 'smb'), nps(2, 1, 4), buy(3, 2, '19.99'), view(4, 30, 'enterprise'), nps(5, 31, 10), buy(6, 40, '0.01')];

  it('builds the profile a hand count gives', () => {
    const { state } = run(events);
    expect(state && profileOf(state)).toEqual({
      customer_id: 'c-1',
      segment: 'enterprise',
      stage: 'ongoing_engagement',
      stage_since: T0 + 30 * HOUR,
      first_seen_at: T0,
      last_seen_at: T0 + 40 * HOUR,
      page_views: 2,
      forms_submitted: 0,
      purchases: 2,
      revenue: '20.00',
      revenue_by_currency: { EUR: '20.00' },
      first_purchase_at: T0 + 2 * HOUR,
      last_nps: 10,
      last_csat: null,
      last_ces: null,
      referral_source: null,
    });
  });

  it('keeps the earliest "how did you hear about us" answer, whatever the arrival order', () => {
    const signUp = (id: number, h: number, source: string) =>
      journeyEvent('form_submission', fields(id, h), { form_id: 'signup', form_type: 'signup', referral_source: source });
    const answers = [signUp(20, 5, 'friend'), signUp(21, 1, 'instagram'), signUp(22, 9, 'google')];
    for (const order of [answers, [...answers].reverse()]) {
      const { state } = run(order);
      expect(state && profileOf(state).referral_source).toBe('instagram');
    }
  });

  // stage_since is when processing reached the stage, so it follows arrival order; all else must not.
  it('gives the same profile whatever the arrival order (latest means latest event time)', () => {
    const reversed = run([...events].reverse()).state as CustomerState;
    const { stage_since: _inOrderSince, ...inOrder } = profileOf(run(events).state as CustomerState);
    const { stage_since: _outOfOrderSince, ...outOfOrder } = profileOf(reversed);
    expect(outOfOrder).toEqual(inOrder);
  });

  it('survives a JSON round trip, as through the changelog topic', () => {
    const { state } = run(events.slice(0, 3));
    const restored = JSON.parse(JSON.stringify(state)) as CustomerState;
    const rest = events.slice(3);
    let fromRestored: CustomerState = restored;
    for (const e of rest) fromRestored = applyToCustomer(fromRestored, 'c-1', e).state;
    expect(fromRestored).toEqual(run(events).state);
  });
});
