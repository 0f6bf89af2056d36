import { describe, expect, it } from 'vitest';
import type { JourneyEvent } from '../../../schemas/event-contract.ts';
import { NO_TRACK, stagesReached, windowDeltasOf, type WindowDeltasInput } from './window-deltas.ts';
import { journeyEvent } from '../../../test/helpers/events.ts';

const AT = Date.parse('2026-10-01T08:00:00Z');

const FIELDS = { n: 1, at: AT, customer_id: 'c1' };

function pageView(properties: Partial<{ cta_shown: boolean; cta_clicked: boolean }>): JourneyEvent {
  return journeyEvent('page_view', FIELDS, { url: 'https://x.example', ...properties });
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
  checkoutAbandonedAfterMs: 3_600_000,
});

describe('window deltas', () => {
  it('counts a click as an impression too: CTR is never above 100 %', () => {
    const clickedOnly = windowDeltasOf(input(pageView({ cta_clicked: true }))).deltas.get('smb|2026-10-01');
    expect(clickedOnly).toMatchObject({ ctaImpressions: 1, ctaClicks: 1 });
    const shownOnly = windowDeltasOf(input(pageView({ cta_shown: true }))).deltas.get('smb|2026-10-01');
    expect(shownOnly).toMatchObject({ ctaImpressions: 1, ctaClicks: 0 });
  });

  it('counts a review: its stars, a low rating, and the sentiment of its text', () => {
    const review = journeyEvent('review', FIELDS, { rating: 2, comment: 'بد بود', source: 'google_maps' });
    const { deltas } = windowDeltasOf({ ...input(review), sentiment: 'negative' });
    expect(deltas.get('smb|2026-10-01')).toMatchObject({ reviews: 1, reviewStarsSum: 2, lowRatedReviews: 1, negativeReviews: 1 });
  });

  it('counts a social engagement by action and network, with the sentiment of a comment', () => {
    const comment = journeyEvent('social_engagement', FIELDS, {
      action: 'comment',
      network: 'telegram',
      post_id: 'p-1',
      comment: 'خیلی بد بود',
    });
    expect(windowDeltasOf({ ...input(comment), sentiment: 'negative' }).deltas.get('smb|2026-10-01')).toEqual({
      socialComments: 1,
      socialByNetwork: { telegram: 1 },
      negativeSocialComments: 1,
    });
    const like = journeyEvent('social_engagement', FIELDS, { action: 'like', network: 'instagram' });
    expect(windowDeltasOf(input(like)).deltas.get('*|2026-10-01')).toEqual({ socialLikes: 1, socialByNetwork: { instagram: 1 } });
  });

  it('counts items put in and taken out of carts; a checkout counts as started', () => {
    const cart = (action: 'add_to_cart' | 'remove_from_cart' | 'checkout_started') =>
      journeyEvent('cart', FIELDS, { action, cart_id: 'k', product_id: 'sku', quantity: 1 });
    expect(windowDeltasOf(input(cart('add_to_cart'))).deltas.get('smb|2026-10-01')).toEqual({ cartAdds: 1 });
    expect(windowDeltasOf(input(cart('remove_from_cart'))).deltas.get('smb|2026-10-01')).toEqual({ cartRemovals: 1 });
    const started = windowDeltasOf(input(cart('checkout_started')));
    expect(started.deltas.get('smb|2026-10-01')).toEqual({ checkoutsStarted: 1, checkoutsCompleted: 0 });
    // A purchase half an hour later completes it, in the window where it started.
    const bought = journeyEvent('purchase', { ...FIELDS, at: AT + 1_800_000, received_at: AT }, { order_id: 'o' });
    expect(windowDeltasOf({ ...input(bought), track: started.track }).deltas.get('smb|2026-10-01')).toMatchObject({
      orders: 1,
      checkoutsCompleted: 1,
    });
  });

  it('counts a jump in every stage it passes, so no step of a funnel has more customers than the one before', () => {
    expect(stagesReached({ from: 'unaware', to: 'conversion' })).toEqual({ discovery: 1, consideration: 1, conversion: 1 });
    expect(stagesReached({ from: 'consideration', to: 'conversion' })).toEqual({ conversion: 1 });
    const purchase = journeyEvent('purchase', FIELDS, { order_id: 'o1', amount: '10.00' });
    const { deltas } = windowDeltasOf(input(purchase, { from: 'unaware', to: 'conversion' }));
    expect(deltas.get('smb|2026-10-01')?.transitionsTo).toEqual({ discovery: 1, consideration: 1, conversion: 1 });
    expect(deltas.get('*|2026-10-01')?.transitionsTo).toEqual({ discovery: 1, consideration: 1, conversion: 1 });
  });
});
