// @ts-check
/**
 * The page's words and how it writes numbers, days and durations in each locale. Everything
 * locale-specific goes through Intl (Persian digits, the Persian calendar, right-to-left), never
 * through hand-written calendar maths. Pure: the unit tests run it in Node.
 */

/** @typedef {'en' | 'fa'} Locale */

export const LOCALES = /** @type {const} */ (['en', 'fa']);

/** @type {Record<Locale, { tag: string, dir: 'ltr' | 'rtl', label: string }>} */
export const LOCALE_INFO = {
  en: { tag: 'en-GB', dir: 'ltr', label: 'English' },
  // fa-IR defaults to the Persian calendar and Persian digits; said explicitly all the same.
  fa: { tag: 'fa-IR-u-ca-persian-nu-arabext', dir: 'rtl', label: 'فارسی' },
};

const EN = {
  title: 'journeyline',
  segment: 'Segment',
  allSegments: 'All segments',
  window: 'Window',
  window1: 'Daily',
  window7: '7 days',
  window30: '30 days',
  from: 'From',
  to: 'To',
  language: 'Language',
  updated: 'Updated',
  live: 'Live',
  eventsPerSecond: 'Events in per second',
  processorLag: 'Processor lag (events)',
  deadLetters: 'Dead letters',
  recentDeadLetters: 'Latest dead letters',
  liveStale: 'Kafka has not answered since',
  liveSlow: 'Kafka is slow to answer; figures as of',
  funnel: 'Funnel',
  funnelNote: 'Customers first seen in the range. A customer at a stage has passed every earlier one.',
  stage: 'Stage',
  reached: 'Reached',
  ofPrevious: '% of previous step',
  ofCohort: '% of all',
  medianTime: 'Median time from previous step',
  atStageNow: 'At this stage now',
  stuck: 'Stuck in consideration',
  stuckNote: 'in consideration for more than {days} days',
  kpis: 'KPI trends',
  data: 'Data',
  day: 'Day',
  latest: 'latest',
  alerts: 'Churn alerts',
  noAlerts: 'No churn alert is firing or was resolved in the last week.',
  status: 'Status',
  signalName: 'Signal',
  value: 'Value',
  baseline: 'Baseline',
  threshold: 'Threshold',
  sample: 'Sample',
  windowDay: 'Day',
  firedAt: 'Fired',
  resolvedAt: 'Resolved',
  firing: 'firing',
  resolved: 'resolved',
  atRisk: 'Customers at risk behind firing alerts',
  atRiskTotal: '{shown} of {total}, most valuable first',
  noAtRisk: 'No customer at risk behind a firing alert.',
  customer: 'Customer',
  reasons: 'Reasons',
  score: 'Score',
  comment: 'Comment',
  revenue: 'Revenue',
  orders: 'Orders',
  noData: 'No data in this range yet.',
  failed: 'Could not load',
  'stage.unaware': 'Unaware',
  'stage.discovery': 'Discovery',
  'stage.consideration': 'Consideration',
  'stage.conversion': 'Conversion',
  'stage.ongoing_engagement': 'Ongoing engagement',
  'kpi.conversion_rate_pct': 'Conversion rate (%)',
  'kpi.revenue': 'Revenue',
  'kpi.aov': 'Average order value',
  'kpi.nps': 'NPS',
  'kpi.csat': 'CSAT (1–5)',
  'kpi.ces': 'CES (1–5, lower is better)',
  'kpi.ctr_pct': 'CTR (%)',
  'kpi.pages_per_visit': 'Pages per visit',
  'kpi.avg_time_on_site_s': 'Time on site (s)',
  'kpi.repeat_purchase_rate_pct': 'Repeat buyers, lifetime (%)',
  'kpi.in_window_repeat_purchase_rate_pct': 'Repeat buyers, in window (%)',
  'kpi.churn_rate_pct': 'Churn rate (%)',
  'kpi.retention_rate_pct': 'Retention rate (%)',
  'kpi.visitors': 'Visitors',
  'kpi.avg_review_rating': 'Review rating (1–5 stars)',
  'kpi.cart_abandonment_rate_pct': 'Cart abandonment (%)',
  'kpi.social_engagements': 'Social engagement',
  'reason.nps_detractor': 'NPS detractor',
  'reason.low_csat': 'low CSAT',
  'reason.high_ces': 'high effort',
  'reason.negative_comment': 'negative comment',
  'reason.dormant': 'dormant',
  'signal.dormant_share': 'Dormant share',
  'signal.churn_rate': 'Churn rate',
  'signal.retention_rate_7d': '7-day retention',
  'signal.detractor_share': 'NPS detractors',
  'signal.csat_mean': 'CSAT mean',
  'signal.csat_satisfied_share': 'CSAT satisfied share',
  'signal.ces_mean': 'CES mean',
  'signal.negative_sentiment_share': 'Negative comments',
  'signal.repeat_purchase_rate_30d': '30-day repeat purchases',
  'signal.buyers_30d': '30-day buyers',
};

/** @type {Record<Locale, Record<keyof typeof EN, string>>} */
export const MESSAGES = {
  en: EN,
  fa: {
    title: 'ژورنی‌لاین',
    segment: 'بخش',
    allSegments: 'همه بخش‌ها',
    window: 'بازه',
    window1: 'روزانه',
    window7: '۷ روزه',
    window30: '۳۰ روزه',
    from: 'از',
    to: 'تا',
    language: 'زبان',
    updated: 'به‌روزرسانی',
    live: 'زنده',
    eventsPerSecond: 'رویداد ورودی در ثانیه',
    processorLag: 'عقب‌ماندگی پردازشگر (رویداد)',
    deadLetters: 'پیام‌های مردود',
    recentDeadLetters: 'آخرین پیام‌های مردود',
    liveStale: 'کافکا پاسخ نداده است از',
    liveSlow: 'کافکا دیر پاسخ می‌دهد؛ ارقام مربوط به',
    funnel: 'قیف',
    funnelNote: 'مشتریانی که نخستین بار در این بازه دیده شدند. مشتری در هر مرحله از همه مراحل پیشین گذشته است.',
    stage: 'مرحله',
    reached: 'رسیده',
    ofPrevious: '٪ از مرحله قبل',
    ofCohort: '٪ از همه',
    medianTime: 'میانه زمان از مرحله قبل',
    atStageNow: 'اکنون در این مرحله',
    stuck: 'مانده در مرحله بررسی',
    stuckNote: 'بیش از {days} روز در مرحله بررسی',
    kpis: 'روند شاخص‌ها',
    data: 'داده‌ها',
    day: 'روز',
    latest: 'آخرین',
    alerts: 'هشدارهای ریزش',
    noAlerts: 'هیچ هشدار ریزشی فعال نیست و در هفته گذشته رفع نشده است.',
    status: 'وضعیت',
    signalName: 'نشانه',
    value: 'مقدار',
    baseline: 'خط پایه',
    threshold: 'آستانه',
    sample: 'نمونه',
    windowDay: 'روز',
    firedAt: 'آغاز',
    resolvedAt: 'رفع',
    firing: 'فعال',
    resolved: 'رفع‌شده',
    atRisk: 'مشتریان در خطر پشت هشدارهای فعال',
    atRiskTotal: '{shown} از {total}، باارزش‌ترین نخست',
    noAtRisk: 'هیچ مشتری در خطری پشت هشدار فعال نیست.',
    customer: 'مشتری',
    reasons: 'دلیل‌ها',
    score: 'امتیاز',
    comment: 'نظر',
    revenue: 'درآمد',
    orders: 'سفارش‌ها',
    noData: 'هنوز در این بازه داده‌ای نیست.',
    failed: 'بارگیری نشد',
    'stage.unaware': 'ناآگاه',
    'stage.discovery': 'آشنایی',
    'stage.consideration': 'بررسی',
    'stage.conversion': 'خرید',
    'stage.ongoing_engagement': 'تعامل پایدار',
    'kpi.conversion_rate_pct': 'نرخ تبدیل (٪)',
    'kpi.revenue': 'درآمد',
    'kpi.aov': 'میانگین ارزش سفارش',
    'kpi.nps': 'NPS',
    'kpi.csat': 'CSAT (۱ تا ۵)',
    'kpi.ces': 'CES (۱ تا ۵، کمتر بهتر)',
    'kpi.ctr_pct': 'نرخ کلیک (٪)',
    'kpi.pages_per_visit': 'صفحه در هر بازدید',
    'kpi.avg_time_on_site_s': 'زمان در سایت (ثانیه)',
    'kpi.repeat_purchase_rate_pct': 'خریداران تکراری، کل سابقه (٪)',
    'kpi.in_window_repeat_purchase_rate_pct': 'خریداران تکراری، در بازه (٪)',
    'kpi.churn_rate_pct': 'نرخ ریزش (٪)',
    'kpi.retention_rate_pct': 'نرخ ماندگاری (٪)',
    'kpi.visitors': 'بازدیدکنندگان',
    'kpi.avg_review_rating': 'امتیاز نقدها (۱ تا ۵ ستاره)',
    'kpi.cart_abandonment_rate_pct': 'رها کردن سبد خرید (٪)',
    'kpi.social_engagements': 'تعامل در شبکه‌های اجتماعی',
    'reason.nps_detractor': 'منتقد NPS',
    'reason.low_csat': 'رضایت پایین',
    'reason.high_ces': 'دشواری زیاد',
    'reason.negative_comment': 'نظر منفی',
    'reason.dormant': 'غیرفعال',
    'signal.dormant_share': 'سهم غیرفعال‌ها',
    'signal.churn_rate': 'نرخ ریزش',
    'signal.retention_rate_7d': 'ماندگاری ۷ روزه',
    'signal.detractor_share': 'منتقدان NPS',
    'signal.csat_mean': 'میانگین CSAT',
    'signal.csat_satisfied_share': 'سهم راضی‌ها در CSAT',
    'signal.ces_mean': 'میانگین CES',
    'signal.negative_sentiment_share': 'نظرهای منفی',
    'signal.repeat_purchase_rate_30d': 'خرید تکراری ۳۰ روزه',
    'signal.buyers_30d': 'خریداران ۳۰ روزه',
  },
};

/**
 * The message `key` in `locale`, with `{name}` filled from `values`; an unknown key (a new signal)
 * is shown as itself rather than hidden.
 * @param {Locale} locale
 * @param {string} key
 * @param {Record<string, string>} [values]
 */
export function t(locale, key, values = {}) {
  const messages = /** @type {Record<string, string>} */ (MESSAGES[locale]);
  const text = messages[key] ?? /** @type {Record<string, string>} */ (EN)[key] ?? key.replace(/^[a-z]+\./, '');
  return text.replace(/\{(\w+)\}/g, (_, name) => values[/** @type {string} */ (name)] ?? '');
}

/** @param {string | null} value @returns {value is Locale} */
export const isLocale = (value) => value === 'en' || value === 'fa';

/**
 * How one locale writes what the page shows. Days are ISO dates (YYYY-MM-DD) of the reporting
 * calendar; they are shown as that same day in the locale's calendar.
 * @param {Locale} locale
 */
export function formatterFor(locale) {
  const tag = LOCALE_INFO[locale].tag;
  /** @type {Map<string, Intl.NumberFormat>} */
  const numbers = new Map();
  /** @param {number} digits */
  const numberFormat = (digits) => {
    const key = String(digits);
    let format = numbers.get(key);
    if (format === undefined) {
      format = new Intl.NumberFormat(tag, { maximumFractionDigits: digits });
      numbers.set(key, format);
    }
    return format;
  };
  const dayFormat = new Intl.DateTimeFormat(tag, { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
  const shortDayFormat = new Intl.DateTimeFormat(tag, { day: 'numeric', month: 'short', timeZone: 'UTC' });
  const timeFormat = new Intl.DateTimeFormat(tag, { dateStyle: 'medium', timeStyle: 'short' });
  const clockFormat = new Intl.DateTimeFormat(tag, { timeStyle: 'medium' });
  const percentFormat = new Intl.NumberFormat(tag, { style: 'percent', maximumFractionDigits: 1 });
  const listFormat = new Intl.ListFormat(tag, { type: 'unit' });
  const compactFormat = new Intl.NumberFormat(tag, { notation: 'compact', maximumFractionDigits: 1 });
  /** @param {'minute' | 'hour' | 'day'} unit */
  const unitFormat = (unit) => new Intl.NumberFormat(tag, { style: 'unit', unit, unitDisplay: 'long', maximumFractionDigits: 1 });
  const durations = { minute: unitFormat('minute'), hour: unitFormat('hour'), day: unitFormat('day') };
  /** @param {string} isoDay */
  const asDate = (isoDay) => new Date(`${isoDay}T00:00:00Z`);
  return {
    /** @param {number | null} value @param {number} [digits] */
    number: (value, digits = 1) => (value === null || !Number.isFinite(value) ? '–' : numberFormat(digits).format(value)),
    /** An amount in an ISO 4217 currency, in the locale's way. @param {number | null} value @param {string} currency */
    money: (value, currency) => {
      if (value === null || !Number.isFinite(value)) return '–';
      try {
        return new Intl.NumberFormat(tag, { style: 'currency', currency, maximumFractionDigits: 2 }).format(value);
      } catch {
        return `${numberFormat(2).format(value)} ${currency}`;
      }
    },
    /** Short, for an axis: 1.2K, 300M (in Persian, its own words and digits). @param {number} value */
    compact: (value) => compactFormat.format(value),
    /** A percentage given as 0–100. @param {number | null} value */
    percent: (value) => (value === null || !Number.isFinite(value) ? '–' : percentFormat.format(value / 100)),
    /** @param {readonly string[]} items */
    list: (items) => listFormat.format(items),
    /** @param {string} isoDay */
    day: (isoDay) => dayFormat.format(asDate(isoDay)),
    /** @param {string} isoDay */
    shortDay: (isoDay) => shortDayFormat.format(asDate(isoDay)),
    /** A ClickHouse DateTime64 ('2026-11-25 10:00:00.000', UTC) or an ISO time. @param {string | null} value */
    time: (value) => (value === null ? '–' : timeFormat.format(new Date(value.includes('T') ? value : `${value.replace(' ', 'T')}Z`))),
    /** @param {Date} date */
    clock: (date) => clockFormat.format(date),
    /** @param {number | null} seconds */
    duration: (seconds) => {
      if (seconds === null) return '–';
      if (seconds < 3600) return durations.minute.format(seconds / 60);
      if (seconds < 2 * 86_400) return durations.hour.format(seconds / 3600);
      return durations.day.format(seconds / 86_400);
    },
  };
}

/**
 * Every day from `first` to `last` (ISO days, inclusive), at most `limit` of the latest.
 * @param {string} first @param {string} last @param {number} [limit]
 */
export function daysBetween(first, last, limit = 3660) {
  /** @type {string[]} */
  const days = [];
  const end = Date.parse(`${last}T00:00:00Z`);
  for (let at = Math.max(Date.parse(`${first}T00:00:00Z`), end - (limit - 1) * 86_400_000); at <= end; at += 86_400_000) {
    days.push(new Date(at).toISOString().slice(0, 10));
  }
  return days;
}
