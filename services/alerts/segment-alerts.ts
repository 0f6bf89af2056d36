/**
 * One segment's alerting, as pure steps the alerting consumer calls for the KPI records it reads.
 *
 * - `keepKpiRecord`: a KPI record replaces the one of the same (day, processor partition) only if its
 *   revision is newer, so a replayed or reordered older revision changes nothing.
 * - `progressOf` / `watermarkOf`: a day is complete once every processor partition has passed it.
 *   Their progress is read from the all-segments (`*`) KPI records, which every partition with any
 *   customer publishes for each day its stream time reaches (a partition without customers of a
 *   segment publishes nothing for it, so a segment's own KPI records cannot tell).
 * - `evaluate`: the complete days are evaluated again as a whole (detection.ts is a function of the
 *   series), so a late revision updates or resolves an alert, never duplicates it, and state rebuilt
 *   after a restart publishes nothing twice.
 * - State is bounded: KPI records of `lookbackDays` before the last complete day, alerts overlapping them.
 */
import { createHash } from 'node:crypto';
import { dayName, dayNumber, type Day } from '../../schemas/days.ts';
import { ALL_SEGMENTS } from '../../schemas/event-contract.ts';
import type { SegmentKpiRecord } from '../../schemas/processor-outputs.ts';
import { episodesOf, reconcile, type Alert, type DayReading, type DetectionSettings } from './detection.ts';
import { readingsOf, SIGNAL_NAMES, SIGNALS, windowOf, type SignalName } from './signals.ts';

export interface SegmentAlertState {
  readonly segment: string;
  /** The latest KPI record per day and processor partition. */
  readonly kpiRecords: ReadonlyMap<Day, ReadonlyMap<number, SegmentKpiRecord>>;
  /** Alerts published so far, per signal. */
  readonly alerts: ReadonlyMap<SignalName, readonly Alert[]>;
}

export interface AlertChange extends Alert {
  readonly segment: string;
  readonly signal: SignalName;
}

/** One signal's configuration: detection, whether it is on, and its weight in a segment's churn score. */
export interface SignalSettings extends DetectionSettings {
  readonly enabled: boolean;
  readonly weight: number;
}
export type AllSignalSettings = Readonly<Record<SignalName, SignalSettings>>;

export const newSegmentAlertState = (segment: string): SegmentAlertState => ({
  segment,
  kpiRecords: new Map(),
  alerts: new Map(),
});

/** Defaults that suit daily segment data: a baseline of about the last week, two weeks to warm up. */
const common = {
  enabled: true,
  weight: 1,
  alpha: 0.2,
  guardDays: 2,
  warmupDays: 14,
  sigmas: 3,
  limit: null,
  forDays: 2,
  keepFiringDays: 2,
  cooldownDays: 3,
} as const;
export const DEFAULT_SIGNAL_SETTINGS: AllSignalSettings = {
  dormant_share: { ...common, worse: SIGNALS.dormant_share.worse, minChange: 0.05, minSample: 20 },
  churn_rate: { ...common, worse: SIGNALS.churn_rate.worse, minChange: 0.02, minSample: 50 },
  retention_rate_7d: { ...common, worse: SIGNALS.retention_rate_7d.worse, minChange: 0.1, minSample: 30 },
  detractor_share: { ...common, worse: SIGNALS.detractor_share.worse, minChange: 0.1, minSample: 20 },
  csat_mean: { ...common, worse: SIGNALS.csat_mean.worse, minChange: 0.3, minSample: 20 },
  csat_satisfied_share: { ...common, worse: SIGNALS.csat_satisfied_share.worse, minChange: 0.1, minSample: 20 },
  ces_mean: { ...common, worse: SIGNALS.ces_mean.worse, minChange: 0.3, minSample: 20 },
  negative_sentiment_share: { ...common, worse: SIGNALS.negative_sentiment_share.worse, minChange: 0.1, minSample: 20 },
  repeat_purchase_rate_30d: { ...common, worse: SIGNALS.repeat_purchase_rate_30d.worse, minChange: 0.05, minSample: 20 },
  buyers_30d: { ...common, worse: SIGNALS.buyers_30d.worse, minChange: 5, minSample: 20 },
};

/** The defaults with an operator's changes (ALERT_SIGNALS, validated by config.ts) laid over them. */
export function signalSettingsOf(
  overrides: Partial<Record<SignalName, { readonly [K in keyof SignalSettings]?: SignalSettings[K] | undefined }>>,
): AllSignalSettings {
  const settings = { ...DEFAULT_SIGNAL_SETTINGS };
  for (const name of SIGNAL_NAMES) {
    const changes = Object.entries(overrides[name] ?? {}).filter(([, value]) => value !== undefined);
    settings[name] = { ...settings[name], ...Object.fromEntries(changes) };
  }
  return settings;
}

/**
 * An alert's id: a UUID made from what first identified it, so evaluating the same series again
 * (after a restart) names the same alert the same.
 */
export function alertIdOf(segment: string, signal: SignalName, startDay: Day): string {
  const hex = createHash('sha256').update(`${segment}\u0000${signal}\u0000${startDay}`).digest('hex');
  const variant = ((parseInt(hex.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Per processor partition, the newest day its stream time reached: updated from `*` KPI records. */
export function progressOf(progress: ReadonlyMap<number, Day>, kpiRecord: SegmentKpiRecord): ReadonlyMap<number, Day> {
  const known = progress.get(kpiRecord.partition);
  if (kpiRecord.segment !== ALL_SEGMENTS || !kpiRecord.day_reached || (known !== undefined && known >= kpiRecord.day)) return progress;
  return new Map(progress).set(kpiRecord.partition, kpiRecord.day);
}

/**
 * The first day not yet complete: the oldest day a processor partition has reached. `partitions`
 * is how many there are; until each has reported, no day is complete.
 */
export function watermarkOf(progress: ReadonlyMap<number, Day>, partitions: number): Day | undefined {
  if (progress.size < partitions) return undefined;
  let oldest: Day | undefined;
  for (const day of progress.values()) if (oldest === undefined || day < oldest) oldest = day;
  return oldest;
}

/** Keeps a KPI record unless this (day, partition) already has the same or a newer revision. */
export function keepKpiRecord(state: SegmentAlertState, kpiRecord: SegmentKpiRecord): SegmentAlertState {
  const known = state.kpiRecords.get(kpiRecord.day)?.get(kpiRecord.partition);
  if (known !== undefined && known.revision >= kpiRecord.revision) return state;
  const kpiRecords = new Map(state.kpiRecords);
  kpiRecords.set(kpiRecord.day, new Map(state.kpiRecords.get(kpiRecord.day)).set(kpiRecord.partition, kpiRecord));
  return { ...state, kpiRecords };
}

/** Evaluates every complete day (before `watermark`) and says which alerts changed. */
export function evaluate(
  state: SegmentAlertState,
  watermark: Day,
  settings: AllSignalSettings,
  lookbackDays: number,
): { state: SegmentAlertState; changed: AlertChange[] } {
  const lastJudged = dayName(dayNumber(watermark) - 1);
  const oldestKept = dayName(dayNumber(lastJudged) - lookbackDays);
  const kpiRecords = new Map([...state.kpiRecords].filter(([day]) => day >= oldestKept));
  const readings = [...kpiRecords.keys()]
    .filter((day) => day <= lastJudged)
    .sort()
    .map((day) => {
      const window = windowOf([...(kpiRecords.get(day)?.values() ?? [])]);
      return { day, readings: window === undefined ? undefined : readingsOf(window) };
    });
  const alerts = new Map(state.alerts);
  const changed: AlertChange[] = [];
  for (const signal of SIGNAL_NAMES) {
    if (!settings[signal].enabled) continue;
    const series: DayReading[] = readings.map(({ day, readings: r }) => ({
      day,
      value: r?.[signal].value ?? null,
      sample: r?.[signal].sample ?? 0,
    }));
    const episodes = episodesOf(series, settings[signal]);
    const published = (state.alerts.get(signal) ?? []).filter((alert) => (alert.resolvedDay ?? lastJudged) >= oldestKept);
    const result = reconcile(published, episodes, (episode) => alertIdOf(state.segment, signal, episode.startDay), lastJudged);
    alerts.set(signal, result.alerts);
    changed.push(...result.changed.map((alert) => ({ ...alert, segment: state.segment, signal })));
  }
  return { state: { segment: state.segment, kpiRecords, alerts }, changed };
}
