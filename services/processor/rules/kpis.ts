/**
 * KPI maths: pure functions from a window's counts to the KPIs analysts read. Ratios whose
 * denominator is zero are null (no data), never 0 or NaN. Money arrives as exact decimal strings
 * and is summed in integer ten-thousandths, so revenue never drifts by a cent.
 */
export interface KpiCounts {
  readonly visitors: number;
  readonly sessions: number;
  readonly pageViews: number;
  /** Page views with a session: per-visit ratios count only these (a sessionless view is in no visit). */
  readonly sessionPageViews: number;
  /** Sum and count of page views that reported a duration. */
  readonly timeOnPageMsSum: number;
  readonly timedPageViews: number;
  /** Sum over sessions of their page durations (sessionless views left out), and how many sessions had any. */
  readonly timeOnSiteMsSum: number;
  readonly timedSessions: number;
  readonly ctaImpressions: number;
  readonly ctaClicks: number;
  readonly formsSubmitted: number;
  readonly orders: number;
  /** Revenue in ten-thousandths of the currency unit (see toMinorUnits). */
  readonly revenueMinor: bigint;
  readonly buyers: number;
  /** Of `visitors`, those who also converted in the window (CONVERSION_EVENTS: a purchase by default). */
  readonly convertedVisitors: number;
  /** Of `buyers`, those with at least two purchases in their history (lifetime). */
  readonly repeatBuyers: number;
  /** Of `buyers`, those with at least two purchases in the window itself. */
  readonly windowRepeatBuyers: number;
  /** Sum of days from first event to first purchase, over customers whose first purchase is in the window. */
  readonly purchaseCycleDaysSum: number;
  readonly firstPurchases: number;
  readonly npsPromoters: number;
  readonly npsPassives: number;
  readonly npsDetractors: number;
  /** Sum of CSAT scores on the 1–5 scale (other scales mapped onto it), in thousandths. */
  readonly csatSumMilli: number;
  readonly csatResponses: number;
  readonly csatSatisfied: number;
  /** Sum of CES scores as effort on the 1–5 scale (lower is better), in thousandths. */
  readonly cesSumMilli: number;
  readonly cesResponses: number;
  readonly positiveComments: number;
  readonly neutralComments: number;
  readonly negativeComments: number;
  /** Comments in a language the sentiment model cannot score: in no share of sentiment. */
  readonly unscoredComments: number;
  /** Public reviews: how many, their stars added up, those of 1–2 stars, and the sentiment of their text. */
  readonly reviews: number;
  readonly reviewStarsSum: number;
  readonly lowRatedReviews: number;
  readonly positiveReviews: number;
  readonly neutralReviews: number;
  readonly negativeReviews: number;
  /** Engagement on social networks, per action, and the sentiment of the text of comments and replies. */
  readonly socialLikes: number;
  readonly socialShares: number;
  readonly socialComments: number;
  readonly socialVideoViews: number;
  readonly socialReplies: number;
  readonly positiveSocialComments: number;
  readonly neutralSocialComments: number;
  readonly negativeSocialComments: number;
  /** Items put in and taken out of carts. */
  readonly cartAdds: number;
  readonly cartRemovals: number;
  /** Checkouts started in the window, and those of them a purchase completed in time (rules/checkouts.ts). */
  readonly checkoutsStarted: number;
  readonly checkoutsCompleted: number;
  readonly dormantCustomers: number;
}

export interface Kpis {
  readonly visitors: number;
  readonly sessions: number;
  readonly page_views: number;
  readonly pages_per_visit: number | null;
  readonly avg_time_on_page_s: number | null;
  readonly avg_time_on_site_s: number | null;
  readonly cta_impressions: number;
  readonly cta_clicks: number;
  readonly ctr_pct: number | null;
  readonly forms_submitted: number;
  readonly orders: number;
  /** Decimal string, exact. */
  /** All revenue of the window; null when it is in more than one currency (never summed across them). */
  readonly revenue: string | null;
  readonly aov: string | null;
  /** Revenue and average order value per ISO 4217 currency. */
  readonly revenue_by_currency: Readonly<Record<string, string>>;
  readonly aov_by_currency: Readonly<Record<string, string>>;
  readonly buyers: number;
  readonly conversion_rate_pct: number | null;
  /** Buyers of the window with two or more purchases in their whole history. */
  readonly repeat_purchase_rate_pct: number | null;
  /** Buyers of the window with two or more purchases within it. */
  readonly in_window_repeat_purchase_rate_pct: number | null;
  readonly purchase_cycle_days: number | null;
  readonly nps: number | null;
  readonly nps_responses: number;
  readonly csat: number | null;
  readonly csat_pct: number | null;
  readonly csat_responses: number;
  readonly ces: number | null;
  readonly ces_responses: number;
  readonly positive_sentiment_pct: number | null;
  readonly negative_sentiment_pct: number | null;
  readonly reviews: number;
  /** Mean stars, 1–5. */
  readonly avg_review_rating: number | null;
  /** Reviews of 1 or 2 stars, of all reviews. */
  readonly low_rated_review_pct: number | null;
  /** Reviews whose text reads negative, of those whose text was scored. */
  readonly negative_review_pct: number | null;
  /** Likes, shares, comments, video views and replies together, and each of them. */
  readonly social_engagements: number;
  readonly social_likes: number;
  readonly social_shares: number;
  readonly social_comments: number;
  readonly social_video_views: number;
  readonly social_replies: number;
  /** Comments and replies whose text reads negative, of those whose text was scored. */
  readonly negative_social_comment_pct: number | null;
  readonly cart_adds: number;
  readonly cart_removals: number;
  readonly checkouts_started: number;
  /** Checkouts started and not completed by a purchase within CHECKOUT_ABANDONED_AFTER_MIN. */
  readonly abandoned_checkouts: number;
  /** Abandoned checkouts of those started, × 100. */
  readonly cart_abandonment_rate_pct: number | null;
  readonly dormant_customers: number;
}

const SCALE = 10_000n;

/** "19.99" → 199900n. The contract guarantees at most 4 decimals and no sign. */
export function toMinorUnits(amount: string): bigint {
  const [whole = '0', fraction = ''] = amount.split('.');
  return BigInt(whole) * SCALE + BigInt(fraction.padEnd(4, '0').slice(0, 4));
}

/** 199900n → "19.99"; trailing zeros trimmed, at least two decimals kept. */
export function fromMinorUnits(minor: bigint): string {
  const whole = minor / SCALE;
  const fraction = (minor % SCALE)
    .toString()
    .padStart(4, '0')
    .replace(/0{1,2}$/, '');
  return `${whole}.${fraction.length < 2 ? fraction.padEnd(2, '0') : fraction}`;
}

/** Rounded to 4 places, half away from zero: as ClickHouse rounds Decimals (segment_kpis_daily). */
function ratio(numerator: number, denominator: number, scale = 1): number | null {
  if (denominator === 0) return null;
  const value = (numerator / denominator) * scale;
  return (Math.sign(value) * Math.round(Math.abs(value) * 10_000)) / 10_000;
}

/** Money of a window per currency, in ten-thousandths, and its orders per currency. */
export interface MoneyByCurrency {
  readonly revenueByCurrency: Readonly<Record<string, bigint>>;
  readonly ordersByCurrency: Readonly<Record<string, number>>;
}
const NO_MONEY: MoneyByCurrency = { revenueByCurrency: {}, ordersByCurrency: {} };

/** Rounded half-up to the ten-thousandth, in integers. */
const averageOf = (minor: bigint, orders: number) => fromMinorUnits((minor * 2n + BigInt(orders)) / (2n * BigInt(orders)));

export function kpisOf(c: KpiCounts, money: MoneyByCurrency = NO_MONEY): Kpis {
  const mixed = Object.keys(money.revenueByCurrency).length > 1;
  const npsResponses = c.npsPromoters + c.npsPassives + c.npsDetractors;
  const comments = c.positiveComments + c.neutralComments + c.negativeComments;
  return {
    visitors: c.visitors,
    sessions: c.sessions,
    page_views: c.pageViews,
    pages_per_visit: ratio(c.sessionPageViews, c.sessions),
    avg_time_on_page_s: ratio(c.timeOnPageMsSum, c.timedPageViews, 1 / 1000),
    avg_time_on_site_s: ratio(c.timeOnSiteMsSum, c.timedSessions, 1 / 1000),
    cta_impressions: c.ctaImpressions,
    cta_clicks: c.ctaClicks,
    ctr_pct: ratio(c.ctaClicks, c.ctaImpressions, 100),
    forms_submitted: c.formsSubmitted,
    orders: c.orders,
    revenue: mixed ? null : fromMinorUnits(c.revenueMinor),
    aov: mixed || c.orders === 0 ? null : averageOf(c.revenueMinor, c.orders),
    revenue_by_currency: Object.fromEntries(Object.entries(money.revenueByCurrency).map(([code, minor]) => [code, fromMinorUnits(minor)])),
    aov_by_currency: Object.fromEntries(
      Object.entries(money.revenueByCurrency).flatMap(([code, minor]) => {
        const orders = money.ordersByCurrency[code] ?? 0;
        return orders === 0 ? [] : [[code, averageOf(minor, orders)]];
      }),
    ),
    buyers: c.buyers,
    // Conversions among visitors: a buyer who never visited (in store, by phone) is not one, so ≤ 100 %.
    conversion_rate_pct: ratio(c.convertedVisitors, c.visitors, 100),
    repeat_purchase_rate_pct: ratio(c.repeatBuyers, c.buyers, 100),
    in_window_repeat_purchase_rate_pct: ratio(c.windowRepeatBuyers, c.buyers, 100),
    purchase_cycle_days: ratio(c.purchaseCycleDaysSum, c.firstPurchases),
    nps: ratio(c.npsPromoters - c.npsDetractors, npsResponses, 100),
    nps_responses: npsResponses,
    csat: ratio(c.csatSumMilli, c.csatResponses, 1 / 1000),
    csat_pct: ratio(c.csatSatisfied, c.csatResponses, 100),
    csat_responses: c.csatResponses,
    ces: ratio(c.cesSumMilli, c.cesResponses, 1 / 1000),
    ces_responses: c.cesResponses,
    positive_sentiment_pct: ratio(c.positiveComments, comments, 100),
    negative_sentiment_pct: ratio(c.negativeComments, comments, 100),
    reviews: c.reviews,
    avg_review_rating: ratio(c.reviewStarsSum, c.reviews),
    low_rated_review_pct: ratio(c.lowRatedReviews, c.reviews, 100),
    negative_review_pct: ratio(c.negativeReviews, c.positiveReviews + c.neutralReviews + c.negativeReviews, 100),
    social_engagements: c.socialLikes + c.socialShares + c.socialComments + c.socialVideoViews + c.socialReplies,
    social_likes: c.socialLikes,
    social_shares: c.socialShares,
    social_comments: c.socialComments,
    social_video_views: c.socialVideoViews,
    social_replies: c.socialReplies,
    negative_social_comment_pct: ratio(
      c.negativeSocialComments,
      c.positiveSocialComments + c.neutralSocialComments + c.negativeSocialComments,
      100,
    ),
    cart_adds: c.cartAdds,
    cart_removals: c.cartRemovals,
    checkouts_started: c.checkoutsStarted,
    abandoned_checkouts: c.checkoutsStarted - c.checkoutsCompleted,
    cart_abandonment_rate_pct: ratio(c.checkoutsStarted - c.checkoutsCompleted, c.checkoutsStarted, 100),
    dormant_customers: c.dormantCustomers,
  };
}

/**
 * A CSAT or CES answer on the 1–5 scale KPIs are reported in, so surveys asked on 5, 7 or 10 points
 * average together: the scale's ends map onto 1 and 5, linearly. A CES asked as agreement ("it was
 * easy", higher is better) is turned into effort first (lower is better). Rounded to thousandths.
 */
export function onFivePoints(score: number, scale: number, form: 'effort' | 'agreement' = 'effort'): number {
  const effort = form === 'agreement' ? scale + 1 - score : score;
  return Math.round((1 + ((effort - 1) * 4) / (scale - 1)) * 1000) / 1000;
}

/** Satisfied: 4 or more on the 1–5 scale (4–5 of 5, 6–7 of 7, 8–10 of 10). */
export const isSatisfied = (fivePoint: number): boolean => fivePoint >= 4;

export type NpsClass = 'promoter' | 'passive' | 'detractor';

/** Promoters score 9–10, detractors 0–6, passives 7–8. */
export function npsClassOf(score: number): NpsClass {
  if (score >= 9) return 'promoter';
  return score <= 6 ? 'detractor' : 'passive';
}

export const EMPTY_COUNTS: KpiCounts = {
  visitors: 0,
  sessions: 0,
  pageViews: 0,
  sessionPageViews: 0,
  timeOnPageMsSum: 0,
  timedPageViews: 0,
  timeOnSiteMsSum: 0,
  timedSessions: 0,
  ctaImpressions: 0,
  ctaClicks: 0,
  formsSubmitted: 0,
  orders: 0,
  revenueMinor: 0n,
  buyers: 0,
  convertedVisitors: 0,
  repeatBuyers: 0,
  windowRepeatBuyers: 0,
  purchaseCycleDaysSum: 0,
  firstPurchases: 0,
  npsPromoters: 0,
  npsPassives: 0,
  npsDetractors: 0,
  csatSumMilli: 0,
  csatResponses: 0,
  csatSatisfied: 0,
  cesSumMilli: 0,
  cesResponses: 0,
  positiveComments: 0,
  neutralComments: 0,
  negativeComments: 0,
  unscoredComments: 0,
  reviews: 0,
  reviewStarsSum: 0,
  lowRatedReviews: 0,
  positiveReviews: 0,
  neutralReviews: 0,
  negativeReviews: 0,
  socialLikes: 0,
  socialShares: 0,
  socialComments: 0,
  socialVideoViews: 0,
  socialReplies: 0,
  positiveSocialComments: 0,
  neutralSocialComments: 0,
  negativeSocialComments: 0,
  cartAdds: 0,
  cartRemovals: 0,
  checkoutsStarted: 0,
  checkoutsCompleted: 0,
  dormantCustomers: 0,
};
