/**
 * Churn signals of one segment-day, read from the processor's KPI partials: the shares of all
 * processor partitions of one (segment, day) added up (each customer lives in one partition, so
 * the sums are exact), then each signal as a value with the sample it rests on. Pure.
 */
import { ALERT_SIGNAL_NAMES, type AlertSignalName } from '../../schemas/alert-records.ts';
import type { SegmentKpiPartial } from '../../schemas/processor-outputs.ts';

/** One (segment, day) window: the sum of its partitions' latest shares. */
export interface SegmentWindow {
  readonly segment: string;
  readonly day: string;
  readonly counts: Readonly<Record<string, number>>;
  /** Customers per current stage at the day's end. */
  readonly stageCounts: Readonly<Record<string, number>>;
  readonly dormantCustomers: number;
  /** Converted customers whose DORMANT_AFTER_DAYS of silence ended on `day`. */
  readonly newlyDormantCustomers: number;
  /** Distinct counts of the 7 and 30 days ending on `day`. */
  readonly rolling7: Readonly<Record<string, number>>;
  readonly rolling30: Readonly<Record<string, number>>;
}

const addInto = (into: Record<string, number>, from: Readonly<Record<string, number | string>>) => {
  for (const [key, value] of Object.entries(from)) if (typeof value === 'number') into[key] = (into[key] ?? 0) + value;
};

/** Adds up the latest share of each processor partition of one (segment, day). */
export function windowOf(shares: readonly SegmentKpiPartial[]): SegmentWindow | undefined {
  const first = shares[0];
  if (first === undefined) return undefined;
  const counts: Record<string, number> = {};
  const stageCounts: Record<string, number> = {};
  const rolling7: Record<string, number> = {};
  const rolling30: Record<string, number> = {};
  let dormantCustomers = 0;
  let newlyDormantCustomers = 0;
  for (const share of shares) {
    addInto(counts, share.counts);
    addInto(stageCounts, share.stage_counts);
    addInto(rolling7, share.rolling['7']);
    addInto(rolling30, share.rolling['30']);
    dormantCustomers += share.dormant_customers;
    newlyDormantCustomers += share.newly_dormant_customers;
  }
  return { segment: first.segment, day: first.day, counts, stageCounts, dormantCustomers, newlyDormantCustomers, rolling7, rolling30 };
}

/** A signal's value on one day and the number of customers or responses behind it. */
export interface Reading {
  readonly value: number | null;
  readonly sample: number;
}

/** Which way is worse: a churn signal alerts when it moves that way. */
export type Worse = 'up' | 'down';

const share = (part: number, whole: number): Reading => ({ value: whole === 0 ? null : part / whole, sample: whole });
const mean = (sum: number, n: number): Reading => ({ value: n === 0 ? null : sum / n, sample: n });
const count = (name: string, window: SegmentWindow) => window.counts[name] ?? 0;
const converted = (w: SegmentWindow) => (w.stageCounts.conversion ?? 0) + (w.stageCounts.ongoing_engagement ?? 0);

/** Every churn signal: how to read it from a window, and which way is worse. */
export const SIGNALS = {
  /** Converted customers (conversion or ongoing engagement) silent for DORMANT_AFTER_DAYS, of all converted. */
  dormant_share: {
    worse: 'up',
    windowDays: 1,
    read: (w) => share(w.dormantCustomers, converted(w)),
  },
  /** Converted customers who went dormant on the day, of those not dormant when it began. */
  churn_rate: {
    worse: 'up',
    windowDays: 1,
    read: (w) => share(w.newlyDormantCustomers, converted(w) - w.dormantCustomers + w.newlyDormantCustomers),
  },
  /** Visitors of the 7 days before the last 7 who came back in the last 7 (the 14 days ending on the day). */
  retention_rate_7d: {
    worse: 'down',
    windowDays: 14,
    read: (w) => share(w.rolling7.returningVisitors ?? 0, w.rolling7.previousVisitors ?? 0),
  },
  /** NPS detractors (0–6) of all NPS responses of the day. */
  detractor_share: {
    worse: 'up',
    windowDays: 1,
    read: (w) => share(count('npsDetractors', w), count('npsPromoters', w) + count('npsPassives', w) + count('npsDetractors', w)),
  },
  /** Mean CSAT (1–5). */
  csat_mean: { worse: 'down', windowDays: 1, read: (w) => mean(count('csatSum', w), count('csatResponses', w)) },
  /** Share of CSAT answers of 4 or 5. */
  csat_satisfied_share: { worse: 'down', windowDays: 1, read: (w) => share(count('csatSatisfied', w), count('csatResponses', w)) },
  /** Mean CES (1–5, lower is better). */
  ces_mean: { worse: 'up', windowDays: 1, read: (w) => mean(count('cesSum', w), count('cesResponses', w)) },
  /** Negative comments of all survey comments. */
  negative_sentiment_share: {
    worse: 'up',
    windowDays: 1,
    read: (w) =>
      share(count('negativeComments', w), count('positiveComments', w) + count('neutralComments', w) + count('negativeComments', w)),
  },
  /** Repeat buyers of all buyers over the 30 days ending on the day. */
  repeat_purchase_rate_30d: { worse: 'down', windowDays: 30, read: (w) => share(w.rolling30.repeatBuyers ?? 0, w.rolling30.buyers ?? 0) },
  /** Distinct buyers over the 30 days ending on the day (the sample is the same count). */
  buyers_30d: { worse: 'down', windowDays: 30, read: (w) => ({ value: w.rolling30.buyers ?? 0, sample: w.rolling30.buyers ?? 0 }) },
} as const satisfies Record<
  AlertSignalName,
  { readonly worse: Worse; readonly windowDays: number; readonly read: (window: SegmentWindow) => Reading }
>;

export type SignalName = AlertSignalName;
export const SIGNAL_NAMES: readonly SignalName[] = ALERT_SIGNAL_NAMES;

export function readingsOf(window: SegmentWindow): Record<SignalName, Reading> {
  return Object.fromEntries(SIGNAL_NAMES.map((name) => [name, SIGNALS[name].read(window)])) as Record<SignalName, Reading>;
}
