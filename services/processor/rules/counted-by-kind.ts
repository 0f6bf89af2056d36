/**
 * What an event of each kind adds to the window of its segment and day, and what it marks the
 * customer as counted for there (a distinct visitor, buyer, session): one function per kind, in a
 * table like the sentiment mappings, so a new kind of event is one more entry. Pure.
 */
import type { EventOf, EventType, JourneyEvent } from '../../../schemas/event-contract.ts';
import type { CommentSentiment } from '../../sentiment/sentiment.ts';
import { isSatisfied, npsClassOf, onFivePoints, toMinorUnits } from './kpis.ts';
import { addDelta, type WindowCounts, type WindowDelta } from './window-counts.ts';
import type { SegmentDayMarks } from './window-deltas.ts';

/**
 * Distinct sessions counted per customer and day: past this a session id is not a visit any
 * more (a client minting one per request) and the marks would grow with the event count.
 */
export const MAX_SESSIONS_PER_CUSTOMER_DAY = 200;

type Sentiment = CommentSentiment['sentiment'];
type NumericCounter = { [K in keyof WindowCounts]: WindowCounts[K] extends number ? K : never }[keyof WindowCounts];

/** The counter a text of each sentiment adds to; a sentiment without one (unscored reviews) adds nothing. */
const bySentiment = (sentiment: Sentiment | null, counters: Partial<Record<Sentiment, NumericCounter>>): WindowDelta => {
  const counter = sentiment === null ? undefined : counters[sentiment];
  return counter === undefined ? {} : { [counter]: 1 };
};
const COMMENT_COUNTERS = {
  positive: 'positiveComments',
  neutral: 'neutralComments',
  negative: 'negativeComments',
  unscored: 'unscoredComments',
} as const;
const REVIEW_COUNTERS = { positive: 'positiveReviews', neutral: 'neutralReviews', negative: 'negativeReviews' } as const;
const SOCIAL_COMMENT_COUNTERS = {
  positive: 'positiveSocialComments',
  neutral: 'neutralSocialComments',
  negative: 'negativeSocialComments',
} as const;

const SOCIAL_ACTION_COUNTER = {
  like: 'socialLikes',
  share: 'socialShares',
  comment: 'socialComments',
  video_view: 'socialVideoViews',
  reply: 'socialReplies',
} as const satisfies Readonly<Record<EventOf<'social_engagement'>['properties']['action'], keyof WindowCounts>>;

/** Adds what `event` counts to window `key` in `deltas`, marking in `mark` what it was counted as. */
type CountInWindow<K extends EventType> = (
  event: EventOf<K>,
  mark: SegmentDayMarks,
  deltas: Map<string, WindowDelta>,
  key: string,
  sentiment: Sentiment | null,
) => void;

const countPageView: CountInWindow<'page_view'> = (event, mark, deltas, key) => {
  const p = event.properties;
  const session = event.session_id;
  addDelta(deltas, key, {
    pageViews: 1,
    sessionPageViews: session === null ? 0 : 1,
    // A click implies the call to action was shown: CTR is never above 100 %.
    ctaImpressions: p.cta_shown || p.cta_clicked ? 1 : 0,
    ctaClicks: p.cta_clicked ? 1 : 0,
    ...(p.duration_ms !== null && {
      timeOnPageMsSum: p.duration_ms,
      timedPageViews: 1,
      // Time on site is per visit: a view outside any session is on the page, not in a visit.
      timeOnSiteMsSum: session === null ? 0 : p.duration_ms,
    }),
  });
  if (!mark.visitor) {
    mark.visitor = true;
    addDelta(deltas, key, { visitors: 1 });
  }
  if (session !== null && (mark.sessions ?? []).length < MAX_SESSIONS_PER_CUSTOMER_DAY && !(mark.sessions ?? []).includes(session)) {
    mark.sessions = [...(mark.sessions ?? []), session];
    addDelta(deltas, key, { sessions: 1 });
  }
  if (
    session !== null &&
    p.duration_ms !== null &&
    (mark.timedSessions ?? []).length < MAX_SESSIONS_PER_CUSTOMER_DAY &&
    !(mark.timedSessions ?? []).includes(session)
  ) {
    mark.timedSessions = [...(mark.timedSessions ?? []), session];
    addDelta(deltas, key, { timedSessions: 1 });
  }
};

const countPurchase: CountInWindow<'purchase'> = (event, mark, deltas, key) => {
  const minor = toMinorUnits(event.properties.amount);
  const { currency } = event.properties;
  addDelta(deltas, key, {
    orders: 1,
    revenueMinor: minor,
    revenueByCurrency: { [currency]: minor },
    ordersByCurrency: { [currency]: 1 },
  });
  if (!mark.buyer) {
    mark.buyer = true;
    addDelta(deltas, key, { buyers: 1 });
  }
  if ((mark.orders ?? 0) < 2) {
    mark.orders = (mark.orders ?? 0) + 1;
    if (mark.orders === 2) addDelta(deltas, key, { windowRepeatBuyers: 1 });
  }
};

const countSurveyResponse: CountInWindow<'survey_response'> = (event, _mark, deltas, key, sentiment) => {
  const { survey_type: kind, score } = event.properties;
  if (kind === 'nps') {
    const cls = npsClassOf(score);
    addDelta(deltas, key, cls === 'promoter' ? { npsPromoters: 1 } : cls === 'detractor' ? { npsDetractors: 1 } : { npsPassives: 1 });
  } else if (kind === 'csat') {
    const five = onFivePoints(score, event.properties.scale ?? 5);
    addDelta(deltas, key, { csatSumMilli: Math.round(five * 1000), csatResponses: 1, csatSatisfied: isSatisfied(five) ? 1 : 0 });
  } else {
    const five = onFivePoints(score, event.properties.scale ?? 5, event.properties.ces_form ?? 'effort');
    addDelta(deltas, key, { cesSumMilli: Math.round(five * 1000), cesResponses: 1 });
  }
  addDelta(deltas, key, bySentiment(sentiment, COMMENT_COUNTERS));
};

const countReview: CountInWindow<'review'> = (event, _mark, deltas, key, sentiment) => {
  const { rating } = event.properties;
  addDelta(deltas, key, {
    reviews: 1,
    reviewStarsSum: rating,
    lowRatedReviews: rating <= 2 ? 1 : 0,
    ...bySentiment(sentiment, REVIEW_COUNTERS),
  });
};

const countSocialEngagement: CountInWindow<'social_engagement'> = (event, _mark, deltas, key, sentiment) => {
  const { action, network } = event.properties;
  addDelta(deltas, key, {
    [SOCIAL_ACTION_COUNTER[action]]: 1,
    socialByNetwork: { [network]: 1 },
    ...bySentiment(sentiment, SOCIAL_COMMENT_COUNTERS),
  });
};

const countCart: CountInWindow<'cart'> = (event, _mark, deltas, key) => {
  const { action } = event.properties;
  if (action !== 'checkout_started') addDelta(deltas, key, action === 'add_to_cart' ? { cartAdds: 1 } : { cartRemovals: 1 });
};

/** Per kind of event, what it counts in its day's window (checkouts and purchase cycles are counted across days: window-deltas.ts). */
export const COUNTED_IN_WINDOW: { readonly [K in EventType]: CountInWindow<K> } = {
  page_view: countPageView,
  form_submission: (_event, _mark, deltas, key) => {
    addDelta(deltas, key, { formsSubmitted: 1 });
  },
  purchase: countPurchase,
  survey_response: countSurveyResponse,
  review: countReview,
  social_engagement: countSocialEngagement,
  cart: countCart,
  // Links an anonymous visitor to a customer (the identity step): counts nothing itself.
  identify: () => undefined,
};

/** Adds what `event` counts to window `key` (COUNTED_IN_WINDOW, by its kind). */
export function countInWindow(
  event: JourneyEvent,
  mark: SegmentDayMarks,
  deltas: Map<string, WindowDelta>,
  key: string,
  sentiment: Sentiment | null,
): void {
  // The table pairs each kind with its own counter; TypeScript cannot follow `event.type` into it.
  (COUNTED_IN_WINDOW[event.type] as CountInWindow<EventType> as (...args: Parameters<CountInWindow<EventType>>) => void)(
    event,
    mark,
    deltas,
    key,
    sentiment,
  );
}
