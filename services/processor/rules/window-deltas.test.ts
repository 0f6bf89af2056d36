import { describe, expect, it } from 'vitest';
import type { JourneyEvent } from '../../../schemas/event-contract.ts';
import { NO_TRACK, stagesReached, windowDeltasOf, type WindowDeltasInput } from './window-deltas.ts';

const AT = Date.parse('2026-10-01T08:00:00Z');

function pageView(properties: Partial<{ cta_shown: boolean; cta_clicked: boolean }>): JourneyEvent {
  return {
    event_id: '00000000-0000-4000-8000-000000000001',
    occurred_at: AT,
    received_at: AT,
    customer_id: 'c1',
    anonymous_id: null,
    session_id: 's1',
    segment: 'smb',
    channel: null,
    type: 'page_view',
    properties: {
      url: 'https://x.example',
      page_type: 'home',
      referrer: null,
      duration_ms: null,
      cta_shown: false,
      cta_clicked: false,
      ...properties,
    },
  };
}

const input = (event: JourneyEvent, transition: WindowDeltasInput['transition'] = null): WindowDeltasInput => ({
  event,
  segment: 'smb',
  track: NO_TRACK,
  firstSeenAt: AT,
  transition,
  timeZone: 'UTC',
  countsInWindow: true,
  sentiment: null,
  converts: event.type === 'purchase',
});

describe('window deltas', () => {
  it('counts a click as an impression too: CTR is never above 100 %', () => {
    const clickedOnly = windowDeltasOf(input(pageView({ cta_clicked: true }))).deltas.get('smb|2026-10-01');
    expect(clickedOnly).toMatchObject({ ctaImpressions: 1, ctaClicks: 1 });
    const shownOnly = windowDeltasOf(input(pageView({ cta_shown: true }))).deltas.get('smb|2026-10-01');
    expect(shownOnly).toMatchObject({ ctaImpressions: 1, ctaClicks: 0 });
  });

  it('counts a review: its stars, a low rating, and the sentiment of its text', () => {
    const review: JourneyEvent = { ...pageView({}), type: 'review', properties: { rating: 2, comment: 'بد بود', source: 'google_maps' } };
    const { deltas } = windowDeltasOf({ ...input(review), sentiment: 'negative' });
    expect(deltas.get('smb|2026-10-01')).toMatchObject({ reviews: 1, reviewStarsSum: 2, lowRatedReviews: 1, negativeReviews: 1 });
  });

  it('counts a jump in every stage it passes, so no step of a funnel has more customers than the one before', () => {
    expect(stagesReached({ from: 'unaware', to: 'conversion' })).toEqual({ discovery: 1, consideration: 1, conversion: 1 });
    expect(stagesReached({ from: 'consideration', to: 'conversion' })).toEqual({ conversion: 1 });
    const purchase: JourneyEvent = {
      ...pageView({}),
      type: 'purchase',
      properties: { order_id: 'o1', amount: '10.00', currency: 'EUR', items: 1 },
    };
    const { deltas } = windowDeltasOf(input(purchase, { from: 'unaware', to: 'conversion' }));
    expect(deltas.get('smb|2026-10-01')?.transitionsTo).toEqual({ discovery: 1, consideration: 1, conversion: 1 });
    expect(deltas.get('*|2026-10-01')?.transitionsTo).toEqual({ discovery: 1, consideration: 1, conversion: 1 });
  });
});
