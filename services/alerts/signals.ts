/**
 * Churn signals of one segment-day, read from the processor's KPI records: those of all
 * processor partitions of one (segment, day) added up (each customer lives in one partition, so
 * the sums are exact), then each signal as a value with the sample it rests on. Pure.
 */
import { ALERT_SIGNAL_NAMES, type AlertSignalName } from '../../schemas/alert-records.ts';
import { CONVERTED_STAGES, type SegmentKpiRecord, type Stage } from '../../schemas/processor-outputs.ts';

/**
 * What the signals read of a KPI record, and all a window adds up: a KPI record waiting in the alerting
 * state keeps only this (slimKpiRecord), and a signal can read nothing else.
 */
const READ = {
  counts: [
    'npsPromoters',
    'npsPassives',
    'npsDetractors',
    'csatSumMilli',
    'csatResponses',
    'csatSatisfied',
    'cesSumMilli',
    'cesResponses',
    'positiveComments',
    'neutralComments',
    'negativeComments',
  ],
  stages: [...CONVERTED_STAGES],
  rolling7: ['returningVisitors', 'previousVisitors'],
  rolling30: ['buyers', 'repeatBuyers'],
} as const satisfies Record<string, readonly string[]>;

type Counted<K extends string> = Readonly<Record<K, number>>;

/** One (segment, day) window: the sum of its partitions' latest KPI records. */
export interface SegmentWindow {
  readonly segment: string;
  readonly day: string;
  readonly counts: Counted<(typeof READ.counts)[number]>;
  /** Converted customers per stage at the day's end. */
  readonly stageCounts: Counted<Stage>;
  readonly dormantCustomers: number;
  /** Converted customers whose DORMANT_AFTER_DAYS of silence ended on `day`. */
  readonly newlyDormantCustomers: number;
  /** Distinct counts of the 7 and 30 days ending on `day`. */
  readonly rolling7: Counted<(typeof READ.rolling7)[number]>;
  readonly rolling30: Counted<(typeof READ.rolling30)[number]>;
}

const zeros = <K extends string>(keys: readonly K[]) => Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>;

function addPicked<K extends string>(into: Record<K, number>, from: Readonly<Record<string, number | string>>, keys: readonly K[]): void {
  for (const key of keys) {
    const value = from[key];
    if (typeof value === 'number') into[key] += value;
  }
}

/** A KPI record's counts with CSAT and CES sums in thousandths: KPI records written before survey scales have them in points. */
function countsOf(kpiRecord: SegmentKpiRecord): Readonly<Record<string, number | string>> {
  const { csatSum, cesSum } = kpiRecord.counts;
  return {
    ...(typeof csatSum === 'number' && { csatSumMilli: csatSum * 1000 }),
    ...(typeof cesSum === 'number' && { cesSumMilli: cesSum * 1000 }),
    ...kpiRecord.counts,
  };
}

/** A KPI record with only what the signals read: what the alerting state keeps of it. */
export function slimKpiRecord(kpiRecord: SegmentKpiRecord): SegmentKpiRecord {
  const kept = (from: Readonly<Record<string, number | string>>, keys: readonly string[]) =>
    Object.fromEntries(keys.filter((key) => typeof from[key] === 'number').map((key) => [key, from[key] as number]));
  return {
    ...kpiRecord,
    counts: kept(countsOf(kpiRecord), READ.counts),
    transitions_to: {},
    revenue_by_currency: {},
    stage_counts: kept(kpiRecord.stage_counts, READ.stages),
    rolling: { '1': {}, '7': kept(kpiRecord.rolling['7'], READ.rolling7), '30': kept(kpiRecord.rolling['30'], READ.rolling30) },
  };
}

/** Adds up the latest KPI record of each processor partition of one (segment, day). */
export function windowOf(kpiRecords: readonly SegmentKpiRecord[]): SegmentWindow | undefined {
  const first = kpiRecords[0];
  if (first === undefined) return undefined;
  const counts = zeros(READ.counts);
  const stageCounts = zeros<Stage>(READ.stages);
  const rolling7 = zeros(READ.rolling7);
  const rolling30 = zeros(READ.rolling30);
  let dormantCustomers = 0;
  let newlyDormantCustomers = 0;
  for (const kpiRecord of kpiRecords) {
    addPicked(counts, countsOf(kpiRecord), READ.counts);
    addPicked(stageCounts, kpiRecord.stage_counts, READ.stages);
    addPicked(rolling7, kpiRecord.rolling['7'], READ.rolling7);
    addPicked(rolling30, kpiRecord.rolling['30'], READ.rolling30);
    dormantCustomers += kpiRecord.dormant_customers;
    newlyDormantCustomers += kpiRecord.newly_dormant_customers;
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

const proportion = (part: number, whole: number): Reading => ({ value: whole === 0 ? null : part / whole, sample: whole });
const mean = (sum: number, n: number): Reading => ({ value: n === 0 ? null : sum / n, sample: n });
const count = (name: keyof SegmentWindow['counts'], window: SegmentWindow) => window.counts[name];
const converted = (w: SegmentWindow) => READ.stages.reduce((sum, stage) => sum + w.stageCounts[stage], 0);

/** Every churn signal: how to read it from a window, and which way is worse. */
export const SIGNALS = {
  /** Converted customers (conversion or ongoing engagement) silent for DORMANT_AFTER_DAYS, of all converted. */
  dormant_share: {
    worse: 'up',
    windowDays: 1,
    read: (w) => proportion(w.dormantCustomers, converted(w)),
  },
  /** Converted customers who went dormant on the day, of those not dormant when it began. */
  churn_rate: {
    worse: 'up',
    windowDays: 1,
    read: (w) => proportion(w.newlyDormantCustomers, converted(w) - w.dormantCustomers + w.newlyDormantCustomers),
  },
  /** Visitors of the 7 days before the last 7 who came back in the last 7 (the 14 days ending on the day). */
  retention_rate_7d: {
    worse: 'down',
    windowDays: 14,
    read: (w) => proportion(w.rolling7.returningVisitors, w.rolling7.previousVisitors),
  },
  /** NPS detractors (0–6) of all NPS responses of the day. */
  detractor_share: {
    worse: 'up',
    windowDays: 1,
    read: (w) => proportion(count('npsDetractors', w), count('npsPromoters', w) + count('npsPassives', w) + count('npsDetractors', w)),
  },
  /** Mean CSAT on the 1–5 scale (answers on 7 or 10 points mapped onto it). */
  csat_mean: { worse: 'down', windowDays: 1, read: (w) => mean(count('csatSumMilli', w) / 1000, count('csatResponses', w)) },
  /** KpiRecord of satisfied CSAT answers (4–5 of 5, 6–7 of 7, 8–10 of 10). */
  csat_satisfied_share: { worse: 'down', windowDays: 1, read: (w) => proportion(count('csatSatisfied', w), count('csatResponses', w)) },
  /** Mean CES as effort on the 1–5 scale (lower is better). */
  ces_mean: { worse: 'up', windowDays: 1, read: (w) => mean(count('cesSumMilli', w) / 1000, count('cesResponses', w)) },
  /** Negative comments of all survey comments. */
  negative_sentiment_share: {
    worse: 'up',
    windowDays: 1,
    read: (w) =>
      proportion(count('negativeComments', w), count('positiveComments', w) + count('neutralComments', w) + count('negativeComments', w)),
  },
  /** Repeat buyers of all buyers over the 30 days ending on the day. */
  repeat_purchase_rate_30d: { worse: 'down', windowDays: 30, read: (w) => proportion(w.rolling30.repeatBuyers, w.rolling30.buyers) },
  /** Distinct buyers over the 30 days ending on the day (the sample is the same count). */
  buyers_30d: { worse: 'down', windowDays: 30, read: (w) => ({ value: w.rolling30.buyers, sample: w.rolling30.buyers }) },
} as const satisfies Record<
  AlertSignalName,
  { readonly worse: Worse; readonly windowDays: number; readonly read: (window: SegmentWindow) => Reading }
>;

export type SignalName = AlertSignalName;
export const SIGNAL_NAMES: readonly SignalName[] = ALERT_SIGNAL_NAMES;

export function readingsOf(window: SegmentWindow): Record<SignalName, Reading> {
  return Object.fromEntries(SIGNAL_NAMES.map((name) => [name, SIGNALS[name].read(window)])) as Record<SignalName, Reading>;
}
