import { describe, expect, it } from 'vitest';
import { DAY_MS, validateEvent } from '../../schemas/event-contract.ts';
import { traffic, type GeneratedEvent } from './traffic.ts';

const SEGMENTS = ['smb', 'enterprise', 'فروشگاه-تهران', 'متجر-الرياض'];
const START = Date.parse('2026-10-01T00:00:00Z');
const DAYS = 28;

function history(seed: number, churnSegment?: string): GeneratedEvent[][] {
  const journeys = traffic({ seed, customers: 4000, segments: SEGMENTS, churnSegment });
  return Array.from({ length: DAYS }, (_, day) => journeys.day(day, START + day * DAY_MS, DAYS));
}

const context = { now: START + (DAYS + 1) * DAY_MS, maxFutureSkewMs: 300_000, maxPastMs: 365 * DAY_MS };
const props = (e: GeneratedEvent) => (e.properties ?? {}) as Record<string, unknown>;

/** NPS detractors of all NPS answers of `segment` over the given days. */
function detractorShare(days: readonly GeneratedEvent[][], segment: string): number {
  const nps = days.flat().filter((e) => e.segment === segment && props(e).survey_type === 'nps' && typeof props(e).score === 'number');
  return nps.filter((e) => (props(e).score as number) <= 6).length / nps.length;
}

describe('traffic', () => {
  it('is the same for the same seed, and another for another', () => {
    const ids = (days: GeneratedEvent[][]) => days.flat().map((e) => e.event_id);
    expect(ids(history(7))).toEqual(ids(history(7)));
    expect(ids(history(8))).not.toEqual(ids(history(7)));
  });

  it('sends valid events but for a few deliberate invalid ones, some late and some twice, some anonymous before sign-up', () => {
    const events = history(1).flat();
    const invalid = events.filter((e) => !validateEvent(e, context).ok);
    expect(invalid.length).toBeGreaterThan(0);
    expect(invalid.length / events.length).toBeLessThan(0.005);
    const ids = events.map((e) => e.event_id);
    expect(ids.length - new Set(ids).size).toBeGreaterThan(events.length * 0.005);
    const times = events.map((e) => String(e.occurred_at));
    expect(times.filter((t, i) => i > 0 && t < (times[i - 1] ?? '')).length).toBeGreaterThan(0);
    expect(events.some((e) => e.customer_id === null && typeof e.anonymous_id === 'string')).toBe(true);
    const types = new Set(events.map((e) => e.type));
    expect(types).toEqual(new Set(['page_view', 'form_submission', 'purchase', 'survey_response', 'review', 'social_engagement', 'cart']));
    // Carts left at the checkout, surveys on 7 and 10 points.
    expect(events.some((e) => e.type === 'cart' && props(e).action === 'checkout_started')).toBe(true);
    expect(new Set(events.map((e) => props(e).scale).filter((scale) => scale !== undefined))).toEqual(new Set([7, 10]));
    // Sign-up forms say how the customer heard of the shop; buyers review it.
    expect(events.some((e) => typeof props(e).referral_source === 'string')).toBe(true);
    // Comments in English, Persian and Arabic.
    const comments = events.map((e) => props(e).comment).filter((c): c is string => typeof c === 'string');
    expect(comments.some((c) => /[a-z]/i.test(c)) && comments.some((c) => /[پچژگ]/.test(c)) && comments.some((c) => /[ةى]/.test(c))).toBe(
      true,
    );
  });

  it('sours the churn segment over the last week: more detractors, fewer of its buyers back', () => {
    const days = history(3, 'فروشگاه-تهران');
    const before = days.slice(0, DAYS - 7);
    const lastWeek = days.slice(DAYS - 7);
    expect(detractorShare(lastWeek, 'فروشگاه-تهران')).toBeGreaterThan(detractorShare(before, 'فروشگاه-تهران') + 0.3);
    expect(Math.abs(detractorShare(lastWeek, 'smb') - detractorShare(before, 'smb'))).toBeLessThan(0.1);
    const buyersOn = (segment: string, week: readonly GeneratedEvent[][]) =>
      new Set(
        week
          .flat()
          .filter((e) => e.segment === segment && e.type === 'purchase')
          .map((e) => e.customer_id),
      ).size;
    expect(buyersOn('فروشگاه-تهران', lastWeek)).toBeLessThan(buyersOn('فروشگاه-تهران', days.slice(DAYS - 14, DAYS - 7)));
  });

  it('keeps live events in the past, about as many as asked for', () => {
    const now = START + 40 * DAY_MS;
    const live = traffic({ seed: 5, customers: 500, segments: SEGMENTS }).live(200, now);
    expect(live.length).toBeGreaterThan(100);
    expect(
      live.every((e) => typeof e.occurred_at !== 'string' || Date.parse(e.occurred_at) <= now || Number.isNaN(Date.parse(e.occurred_at))),
    ).toBe(true);
  });
});
