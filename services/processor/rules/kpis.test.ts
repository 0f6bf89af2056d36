import { describe, expect, it } from 'vitest';
import { EMPTY_COUNTS, fromMinorUnits, isSatisfied, kpisOf, npsClassOf, onFivePoints, toMinorUnits } from './kpis.ts';
import { EMPTY_WINDOW, windowCountsFromJson } from './window-counts.ts';

describe('kpisOf', () => {
  it('computes every KPI of a hand-worked day', () => {
    // A day: 4 visitors in 5 sessions viewing 12 pages, 2 of them outside any session; 10 pages
    // reported durations totalling 300 s; the 5 sessions totalled 400 s; CTA shown 8 times,
    // clicked twice; 3 forms; 3 orders of 19.99 + 50.00 + 30.01 by 2 buyers (one of them bought
    // in store without visiting, and twice that day), one a repeat buyer; 2 first purchases after
    // 3 and 10 days; NPS 5 promoters / 3 passives / 2 detractors; CSAT 5,4,2 ; CES 2,3;
    // comments 2 positive, 1 neutral, 1 negative; 1 dormant customer.
    const kpis = kpisOf({
      ...EMPTY_COUNTS,
      visitors: 4,
      sessions: 5,
      pageViews: 12,
      sessionPageViews: 10,
      timeOnPageMsSum: 300_000,
      timedPageViews: 10,
      timeOnSiteMsSum: 400_000,
      timedSessions: 5,
      ctaImpressions: 8,
      ctaClicks: 2,
      formsSubmitted: 3,
      orders: 3,
      revenueMinor: toMinorUnits('19.99') + toMinorUnits('50.00') + toMinorUnits('30.01'),
      buyers: 2,
      convertedVisitors: 1,
      repeatBuyers: 1,
      windowRepeatBuyers: 1,
      purchaseCycleDaysSum: 13,
      firstPurchases: 2,
      npsPromoters: 5,
      npsPassives: 3,
      npsDetractors: 2,
      csatSumMilli: 11_000,
      csatResponses: 3,
      csatSatisfied: 2,
      cesSumMilli: 5000,
      cesResponses: 2,
      positiveComments: 2,
      neutralComments: 1,
      negativeComments: 1,
      // In a language the model cannot score: in neither share.
      unscoredComments: 5,
      // Four reviews of 5, 4, 2 and 1 stars; their texts read positive, neutral, negative, negative.
      reviews: 4,
      reviewStarsSum: 12,
      lowRatedReviews: 2,
      positiveReviews: 1,
      neutralReviews: 1,
      negativeReviews: 2,
      // On social networks: 6 likes, 2 shares, 3 comments (1 positive, 1 neutral, 2 negative with
      // the reply), 10 video views, 1 reply.
      socialLikes: 6,
      socialShares: 2,
      socialComments: 3,
      socialVideoViews: 10,
      socialReplies: 1,
      positiveSocialComments: 1,
      neutralSocialComments: 1,
      negativeSocialComments: 2,
      // 5 items put in carts, 1 taken out; 4 checkouts started, 1 completed by a purchase in time.
      cartAdds: 5,
      cartRemovals: 1,
      checkoutsStarted: 4,
      checkoutsCompleted: 1,
      dormantCustomers: 1,
    });
    expect(kpis).toEqual({
      visitors: 4,
      sessions: 5,
      page_views: 12,
      pages_per_visit: 2,
      avg_time_on_page_s: 30,
      avg_time_on_site_s: 80,
      cta_impressions: 8,
      cta_clicks: 2,
      ctr_pct: 25,
      forms_submitted: 3,
      orders: 3,
      revenue: '100.00',
      aov: '33.3333',
      revenue_by_currency: {},
      aov_by_currency: {},
      buyers: 2,
      conversion_rate_pct: 25,
      repeat_purchase_rate_pct: 50,
      in_window_repeat_purchase_rate_pct: 50,
      purchase_cycle_days: 6.5,
      nps: 30,
      nps_responses: 10,
      csat: 3.6667,
      csat_pct: 66.6667,
      csat_responses: 3,
      ces: 2.5,
      ces_responses: 2,
      positive_sentiment_pct: 50,
      negative_sentiment_pct: 25,
      reviews: 4,
      avg_review_rating: 3,
      low_rated_review_pct: 50,
      negative_review_pct: 50,
      social_engagements: 22,
      social_likes: 6,
      social_shares: 2,
      social_comments: 3,
      social_video_views: 10,
      social_replies: 1,
      negative_social_comment_pct: 50,
      cart_adds: 5,
      cart_removals: 1,
      checkouts_started: 4,
      abandoned_checkouts: 3,
      cart_abandonment_rate_pct: 75,
      dormant_customers: 1,
    });
  });

  it('never adds up money in different currencies: EUR 10 and IRR 1,000,000 are two revenues and two AOVs', () => {
    const counts = { ...EMPTY_COUNTS, orders: 2, revenueMinor: toMinorUnits('10') + toMinorUnits('1000000') };
    const kpis = kpisOf(counts, {
      revenueByCurrency: { EUR: toMinorUnits('10'), IRR: toMinorUnits('1000000') },
      ordersByCurrency: { EUR: 1, IRR: 1 },
    });
    expect(kpis).toMatchObject({
      revenue: null,
      aov: null,
      revenue_by_currency: { EUR: '10.00', IRR: '1000000.00' },
      aov_by_currency: { EUR: '10.00', IRR: '1000000.00' },
    });
    const oneCurrency = kpisOf(
      { ...EMPTY_COUNTS, orders: 3, revenueMinor: toMinorUnits('100') },
      {
        revenueByCurrency: { EUR: toMinorUnits('100') },
        ordersByCurrency: { EUR: 3 },
      },
    );
    expect(oneCurrency).toMatchObject({ revenue: '100.00', aov: '33.3333', aov_by_currency: { EUR: '33.3333' } });
  });

  it('keeps conversion among visitors: buyers who never visited do not push it past 100 %', () => {
    // One visitor who bought; two customers who bought in store.
    const kpis = kpisOf({ ...EMPTY_COUNTS, visitors: 1, buyers: 3, convertedVisitors: 1 });
    expect(kpis.conversion_rate_pct).toBe(100);
    expect(kpisOf({ ...EMPTY_COUNTS, visitors: 4, buyers: 3, convertedVisitors: 1 }).conversion_rate_pct).toBe(25);
  });

  it('leaves page views outside any session out of the per-visit ratios', () => {
    // One session of one page (10 s), and three page views without a session (30 s each).
    const kpis = kpisOf({
      ...EMPTY_COUNTS,
      sessions: 1,
      timedSessions: 1,
      pageViews: 4,
      sessionPageViews: 1,
      timeOnSiteMsSum: 10_000,
      timeOnPageMsSum: 100_000,
      timedPageViews: 4,
    });
    expect(kpis).toMatchObject({ pages_per_visit: 1, avg_time_on_site_s: 10, avg_time_on_page_s: 25, page_views: 4 });
  });

  it('reports no data as null, never 0 or NaN', () => {
    const kpis = kpisOf(EMPTY_COUNTS);
    expect(
      Object.entries(kpis)
        .filter(([, v]) => v === null)
        .map(([k]) => k),
    ).toEqual([
      'pages_per_visit',
      'avg_time_on_page_s',
      'avg_time_on_site_s',
      'ctr_pct',
      'aov',
      'conversion_rate_pct',
      'repeat_purchase_rate_pct',
      'in_window_repeat_purchase_rate_pct',
      'purchase_cycle_days',
      'nps',
      'csat',
      'csat_pct',
      'ces',
      'positive_sentiment_pct',
      'negative_sentiment_pct',
      'avg_review_rating',
      'low_rated_review_pct',
      'negative_review_pct',
      'negative_social_comment_pct',
      'cart_abandonment_rate_pct',
    ]);
    expect(kpis.revenue).toBe('0.00');
  });

  it('NPS can be negative: 1 promoter, 3 detractors of 4 → −50', () => {
    expect(kpisOf({ ...EMPTY_COUNTS, npsPromoters: 1, npsDetractors: 3 }).nps).toBe(-50);
  });
});

describe('NPS classes', () => {
  it('promoters 9–10, passives 7–8, detractors 0–6', () => {
    expect([0, 6, 7, 8, 9, 10].map(npsClassOf)).toEqual(['detractor', 'detractor', 'passive', 'passive', 'promoter', 'promoter']);
  });
});

describe('money', () => {
  it('is exact in ten-thousandths', () => {
    expect([toMinorUnits('19.99'), toMinorUnits('0.0001'), toMinorUnits('7')]).toEqual([199_900n, 1n, 70_000n]);
    expect([fromMinorUnits(199_900n), fromMinorUnits(1n), fromMinorUnits(70_000n), fromMinorUnits(10n)]).toEqual([
      '19.99',
      '0.0001',
      '7.00',
      '0.001',
    ]);
    // 0.1 + 0.2 in floating point is 0.30000000000000004; here it is 0.30.
    expect(fromMinorUnits(toMinorUnits('0.1') + toMinorUnits('0.2'))).toBe('0.30');
  });
});

describe('survey scales', () => {
  it('maps CSAT and CES of 5, 7 and 10 points onto 1–5, so mixed scales average correctly', () => {
    expect([1, 3, 5].map((s) => onFivePoints(s, 5))).toEqual([1, 3, 5]);
    expect([1, 4, 7].map((s) => onFivePoints(s, 7))).toEqual([1, 3, 5]);
    expect([1, 10].map((s) => onFivePoints(s, 10))).toEqual([1, 5]);
    // "Very satisfied" on 5 and on 10 points is the same answer.
    const counts = { ...EMPTY_COUNTS, csatResponses: 2, csatSumMilli: 1000 * (onFivePoints(5, 5) + onFivePoints(10, 10)) };
    expect(kpisOf(counts).csat).toBe(5);
  });

  it('turns a CES asked as agreement into effort: strongly agreeing it was easy is the least effort', () => {
    expect(onFivePoints(7, 7, 'agreement')).toBe(1);
    expect(onFivePoints(1, 7, 'agreement')).toBe(5);
    expect(onFivePoints(5, 5, 'agreement')).toBe(onFivePoints(1, 5, 'effort'));
  });

  it('counts the top of every scale as satisfied: 4–5 of 5, 6–7 of 7, 8–10 of 10', () => {
    const satisfied = (scale: number) => Array.from({ length: scale }, (_, i) => i + 1).filter((s) => isSatisfied(onFivePoints(s, scale)));
    expect(satisfied(5)).toEqual([4, 5]);
    expect(satisfied(7)).toEqual([6, 7]);
    expect(satisfied(10)).toEqual([8, 9, 10]);
  });
});

describe('window counts from the changelog', () => {
  it('reads CSAT and CES sums written in points (before scales) as thousandths', () => {
    const restored = windowCountsFromJson({ revenueMinor: '0', csatSum: 9, csatResponses: 2, cesSum: 4, cesResponses: 2 });
    expect(restored).toMatchObject({ csatSumMilli: 9000, cesSumMilli: 4000, csatResponses: 2 });
    expect(restored).not.toHaveProperty('csatSum');
  });

  it('start a counter added since the record was written at 0', () => {
    const { unscoredComments: _added, ...written } = EMPTY_WINDOW;
    const restored = windowCountsFromJson({ ...written, revenueMinor: '0', positiveComments: 2 });
    expect(restored.unscoredComments).toBe(0);
    expect(restored.positiveComments).toBe(2);
  });
});
