/**
 * The alerting service's whole state and its steps, pure; services/alerts/alerting.ts feeds it
 * from Kafka and publishes what it returns.
 *
 * - `absorb`: a KPI record (from the segment-kpis topic) updates the processors' progress and its
 *   segment's KPI records (only what the signals read: slimKpiRecord); a revision of a day already judged
 *   has its segment evaluated again.
 * - `evaluateBook`: every segment that needs it (all of them once the watermark moved) is evaluated
 *   (segment-alerts.ts) and each changed alert becomes its next record: revision + 1, fired_at kept,
 *   and what changed. Also returned: the changelog records of the (segment, signal) pairs that
 *   changed: their alerts' latest records, so a restart knows what it published.
 * - `restoreAlerts`: a changelog record back into the book.
 */
import type { Day } from '../../schemas/days.ts';
import { alertKey, alertRecord, type AlertRecord } from '../../schemas/alert-records.ts';
import type { SegmentKpiRecord } from '../../schemas/processor-outputs.ts';
import { parseJsonRecord } from '../common/json-record.ts';
import type { Alert } from './detection.ts';
import {
  evaluate,
  newSegmentAlertState,
  progressOf,
  keepKpiRecord,
  watermarkOf,
  type AlertChange,
  type AllSignalSettings,
  type SegmentAlertState,
} from './segment-alerts.ts';
import { SIGNAL_NAMES, SIGNALS, slimKpiRecord, type SignalName } from './signals.ts';

export interface AlertBook {
  progress: ReadonlyMap<number, Day>;
  readonly segments: Map<string, SegmentAlertState>;
  /** The latest record of every alert a segment still holds. */
  readonly records: Map<string, AlertRecord>;
  /** Segments with KPI records not evaluated yet. */
  readonly dirty: Set<string>;
  /** The watermark of the last evaluation: when it moves, every segment is evaluated. */
  evaluatedAt: Day | undefined;
}

export interface BookSettings {
  readonly signals: AllSignalSettings;
  readonly lookbackDays: number;
  /** Processor partitions: no day is complete until each has passed it. */
  readonly partitions: number;
}

export const newAlertBook = (): AlertBook => ({
  progress: new Map(),
  segments: new Map(),
  records: new Map(),
  dirty: new Set(),
  evaluatedAt: undefined,
});

export function absorb(book: AlertBook, kpiRecord: SegmentKpiRecord): void {
  book.progress = progressOf(book.progress, kpiRecord);
  const before = book.segments.get(kpiRecord.segment) ?? newSegmentAlertState(kpiRecord.segment);
  const after = keepKpiRecord(before, slimKpiRecord(kpiRecord));
  if (after === before) return;
  book.segments.set(kpiRecord.segment, after);
  // A day not judged yet waits for the watermark to pass it (then every segment is evaluated).
  if (book.evaluatedAt !== undefined && kpiRecord.day < book.evaluatedAt) book.dirty.add(kpiRecord.segment);
}

/**
 * Drops KPI records of days before `oldest` (a restore reads the topic's whole history; evaluating keeps
 * only the lookback anyway). Alerts stay: what was published is never forgotten early.
 */
export function forgetKpiRecordsBefore(book: AlertBook, oldest: Day): void {
  for (const [segment, state] of book.segments) {
    if (![...state.kpiRecords.keys()].some((day) => day < oldest)) continue;
    book.segments.set(segment, { ...state, kpiRecords: new Map([...state.kpiRecords].filter(([day]) => day >= oldest)) });
  }
}

export interface ChangelogRecord {
  readonly key: string;
  /** The alerts of the pair as JSON; null (a tombstone) once it holds none. */
  readonly value: string | null;
}

export interface Evaluated {
  /** The records to publish, in order. */
  readonly records: AlertRecord[];
  readonly changelog: ChangelogRecord[];
}

const NOTHING: Evaluated = { records: [], changelog: [] };

function changeOf(previous: AlertRecord | undefined, status: Alert['status']): AlertRecord['change'] {
  if (status === 'resolved') return previous?.status === 'resolved' ? 'updated' : 'resolved';
  return previous === undefined || previous.status === 'resolved' ? 'fired' : 'updated';
}

/** The next record of a changed alert: `now` is the wall clock of this evaluation. */
function nextRecord(change: AlertChange, previous: AlertRecord | undefined, settings: AllSignalSettings, now: string): AlertRecord {
  const signal = settings[change.signal];
  return {
    alert_id: change.id,
    segment: change.segment,
    signal: change.signal,
    status: change.status,
    change: changeOf(previous, change.status),
    revision: (previous?.revision ?? 0) + 1,
    value: change.value,
    baseline: change.baseline,
    threshold: change.threshold,
    worse: signal.worse,
    window_day: change.lastBreachDay,
    window_days: SIGNALS[change.signal].windowDays,
    sample_size: change.sample,
    start_day: change.startDay,
    fired_day: change.firedDay,
    resolved_day: change.resolvedDay,
    peak: change.peak,
    weight: signal.weight,
    fired_at: previous?.fired_at ?? now,
    resolved_at: change.status === 'resolved' ? (previous?.status === 'resolved' ? previous.resolved_at : now) : null,
    updated_at: now,
  };
}

/** The detection view of a published record: what reconcile compares a re-evaluation with. */
const alertOf = (record: AlertRecord): Alert => ({
  id: record.alert_id,
  startDay: record.start_day,
  firedDay: record.fired_day,
  resolvedDay: record.resolved_day,
  status: record.status,
  value: record.value,
  baseline: record.baseline,
  threshold: record.threshold,
  sample: record.sample_size,
  peak: record.peak,
  lastBreachDay: record.window_day,
});

/**
 * Evaluates what needs it, if any day is complete; changes nothing when nothing changed. `cap`:
 * the newest watermark the caller has released (consistent-cut.ts), null for none yet.
 */
export function evaluateBook(book: AlertBook, settings: BookSettings, now: string, cap?: Day | null): Evaluated {
  const seen = watermarkOf(book.progress, settings.partitions);
  if (seen === undefined || cap === null) return NOTHING;
  const reached = cap !== undefined && cap < seen ? cap : seen;
  // Never back: a processor partition that starts late must not unjudge days judged before it.
  const watermark = book.evaluatedAt !== undefined && reached < book.evaluatedAt ? book.evaluatedAt : reached;
  const segments = watermark === book.evaluatedAt ? [...book.dirty] : [...book.segments.keys()];
  book.evaluatedAt = watermark;
  book.dirty.clear();
  const records: AlertRecord[] = [];
  /** The (segment, signal) pairs whose alerts changed, by changelog key. */
  const touched = new Map<string, readonly [string, SignalName]>();
  const touch = (segment: string, signal: SignalName) => touched.set(alertKey(segment, signal), [segment, signal]);
  for (const segment of segments) {
    const state = book.segments.get(segment);
    if (state === undefined) continue;
    const step = evaluate(state, watermark, settings.signals, settings.lookbackDays);
    for (const change of step.changed) {
      const record = nextRecord(change, book.records.get(change.id), settings.signals, now);
      book.records.set(record.alert_id, record);
      records.push(record);
      touch(segment, change.signal);
    }
    // Alerts older than the lookback leave the state: their records go, their pair's changelog shrinks.
    const kept = new Set([...step.state.alerts.values()].flat().map((alert) => alert.id));
    for (const [signal, alerts] of state.alerts) {
      for (const alert of alerts.filter((a) => !kept.has(a.id))) {
        book.records.delete(alert.id);
        touch(segment, signal);
      }
    }
    if (step.state.kpiRecords.size === 0 && [...step.state.alerts.values()].every((alerts) => alerts.length === 0))
      book.segments.delete(segment);
    else book.segments.set(segment, step.state);
  }
  const changelog = [...touched].map(([key, [segment, signal]]) => {
    const alerts = book.segments.get(segment)?.alerts.get(signal) ?? [];
    const kept = alerts.map((alert) => book.records.get(alert.id)).filter((r): r is AlertRecord => r !== undefined);
    return { key, value: kept.length === 0 ? null : JSON.stringify(kept) };
  });
  return { records, changelog };
}

/** Segment names may hold `|`; signal names never do. */
function splitKey(key: string): [string, string] {
  const at = key.lastIndexOf('|');
  return [key.slice(0, at), key.slice(at + 1)];
}

/** A changelog record back into the book; one this version cannot read is skipped (and says why). */
export function restoreAlerts(book: AlertBook, key: string, value: string | null): string | undefined {
  const [segment, signal] = splitKey(key);
  if (!(SIGNAL_NAMES as readonly string[]).includes(signal)) return `unknown signal ${signal}`;
  const state = book.segments.get(segment) ?? newSegmentAlertState(segment);
  const previous = state.alerts.get(signal as SignalName) ?? [];
  for (const alert of previous) book.records.delete(alert.id);
  let records: AlertRecord[] = [];
  if (value !== null) {
    const parsed = parseJsonRecord(alertRecord.array(), value);
    if (!parsed.ok) return parsed.reason;
    records = parsed.value;
  }
  for (const record of records) book.records.set(record.alert_id, record);
  book.segments.set(segment, { ...state, alerts: new Map(state.alerts).set(signal as SignalName, records.map(alertOf)) });
  return undefined;
}
