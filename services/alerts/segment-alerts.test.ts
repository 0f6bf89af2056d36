import { describe, expect, it } from 'vitest';
import { dayName, dayNumber } from '../../schemas/days.ts';
import { ALL_SEGMENTS } from '../../schemas/event-contract.ts';
import type { SegmentKpiRecord } from '../../schemas/processor-outputs.ts';
import type { AlertRecord } from '../../schemas/alert-records.ts';
import {
  absorb,
  evaluateBook,
  forgetKpiRecordsBefore,
  newAlertBook,
  restoreAlerts,
  type AlertBook,
  type BookSettings,
} from './alert-book.ts';
import { alertIdOf, DEFAULT_SIGNAL_SETTINGS, watermarkOf } from './segment-alerts.ts';
import { kpiRecordWith } from '../../test/helpers/records.ts';

const DAY0 = dayNumber('2026-09-01');
const day = (i: number) => dayName(DAY0 + i);
const PARTITIONS = 2;

/** One processor partition's KPI record of a day: `detractors` of 25 NPS answers. */
const kpiRecord = (segment: string, i: number, partition: number, detractors: number, revision = 1): SegmentKpiRecord =>
  kpiRecordWith({
    segment,
    day: day(i),
    partition,
    revision,
    counts: { revenueMinor: '0', npsDetractors: detractors, npsPromoters: 25 - detractors },
  });

const SETTINGS: BookSettings = { signals: DEFAULT_SIGNAL_SETTINGS, lookbackDays: 60, partitions: PARTITIONS };
const NOW = '2026-11-25T08:00:00.000Z';

/** The alerting service's loop without Kafka: each KPI record absorbed, then the book evaluated. */
class Alerting {
  readonly book: AlertBook = newAlertBook();
  readonly changes: AlertRecord[] = [];
  /** The alerts changelog as a compacted topic would keep it: the latest value per key. */
  readonly changelog = new Map<string, string | null>();

  feed(kpiRecords: readonly SegmentKpiRecord[]): this {
    for (const s of kpiRecords) {
      absorb(this.book, s);
      const step = evaluateBook(this.book, SETTINGS, NOW);
      this.changes.push(...step.records);
      for (const record of step.changelog) this.changelog.set(record.key, record.value);
    }
    return this;
  }

  get progress() {
    return this.book.progress;
  }

  get segments() {
    return this.book.segments;
  }

  /** A new instance after a crash: KPI records re-read from their topic, published alerts from the changelog. */
  restarted(kpiRecords: readonly SegmentKpiRecord[], withChangelog = true): Alerting {
    const next = new Alerting();
    if (withChangelog) for (const [key, value] of this.changelog) expect(restoreAlerts(next.book, key, value)).toBeUndefined();
    for (const s of kpiRecords) absorb(next.book, s);
    return next;
  }
}

/** Both partitions' KPI records of `smb` and `*` per day: a steady 12–16 % detractors, 60 % from `jumpFrom` on. */
function days(count: number, jumpFrom = Number.POSITIVE_INFINITY, partitions = [0, 1]) {
  return Array.from({ length: count }, (_, i) =>
    partitions.flatMap((p) => {
      const detractors = i >= jumpFrom ? 15 : 3 + ((i + p) % 2);
      return [kpiRecord('smb', i, p, detractors), kpiRecord(ALL_SEGMENTS, i, p, 3)];
    }),
  ).flat();
}

describe('segment alerting', () => {
  it('fires one alert for a rising signal of the segment, and none for a steady one', () => {
    expect(new Alerting().feed(days(60)).changes).toEqual([]);
    const { changes } = new Alerting().feed(days(50, 40));
    expect([...new Set(changes.map((c) => `${c.segment} ${c.signal} ${c.status} ${c.alert_id}`))]).toEqual([
      `smb detractor_share firing ${alertIdOf('smb', 'detractor_share', day(40))}`,
    ]);
  });

  it('judges no day before every processor partition has passed it', () => {
    // Partition 0 runs 45 days ahead while partition 1 has reported nothing: nothing is judged.
    const alerting = new Alerting().feed(days(45, 40, [0]));
    expect(alerting.changes).toEqual([]);
    expect(watermarkOf(alerting.progress, PARTITIONS)).toBeUndefined();
    // Partition 1 catches up: the jump is judged, once.
    alerting.feed(days(45, 40, [1]));
    expect([...new Set(alerting.changes.map((c) => c.alert_id))]).toEqual([alertIdOf('smb', 'detractor_share', day(40))]);
  });

  it('ignores an older revision arriving after a newer one, and updates on a newer one without a second alert', () => {
    const alerting = new Alerting().feed(days(50, 40));
    const changesBefore = alerting.changes.length;
    alerting.feed([kpiRecord('smb', 45, 0, 0, 0)]);
    expect([alerting.segments.get('smb')?.kpiRecords.get(day(45))?.get(0)?.revision, alerting.changes.length]).toEqual([1, changesBefore]);
    alerting.feed([kpiRecord('smb', 44, 0, 20, 2)]);
    expect(new Set(alerting.changes.map((c) => c.alert_id))).toEqual(new Set([alertIdOf('smb', 'detractor_share', day(40))]));
  });

  it('keeps only the lookback of days (and the days not yet complete)', () => {
    const { segments } = new Alerting().feed(days(200));
    // 60 days of lookback, the last complete day, and the one or two days not yet complete.
    expect(segments.get('smb')?.kpiRecords.size).toBeLessThanOrEqual(63);
  });

  it('publishes each change once, as the next revision: fired, updated by a late revision, resolved when the signal falls back', () => {
    const alerting = new Alerting().feed(days(46, 40));
    // Back to normal from day 46 on: two calm days resolve it.
    alerting.feed(days(52).slice(46 * 4));
    const summary = alerting.changes.map((c) => `${c.change}:${c.status}:${c.revision}`);
    expect(summary[0]).toBe('fired:firing:1');
    expect(summary.at(-1)).toBe(`resolved:resolved:${summary.length}`);
    expect(summary.filter((line) => line.startsWith('fired') || line.startsWith('resolved'))).toHaveLength(2);
    expect(new Set(alerting.changes.map((c) => c.alert_id)).size).toBe(1);
    const resolved = alerting.changes.at(-1);
    expect([resolved?.fired_at, resolved?.resolved_at, resolved?.start_day, resolved?.resolved_day]).toEqual([NOW, NOW, day(40), day(47)]);
  });

  it('publishes nothing again after a restart that re-reads the same kpiRecords, because the changelog says what was published', () => {
    const kpiRecords = days(50, 40);
    const before = new Alerting().feed(kpiRecords);
    expect(before.changes.filter((c) => c.change === 'fired')).toHaveLength(1);
    const after = before.restarted(kpiRecords).feed(kpiRecords.slice(-2));
    expect(after.changes).toEqual([]);
    // Without the changelog (the mechanism switched off) the same alert would be published again.
    const forgetful = before.restarted(kpiRecords, false).feed(kpiRecords.slice(-2));
    expect(forgetful.changes.filter((c) => c.change === 'fired')).toHaveLength(1);
  });

  it('goes on from a restored alert: a later change is its next revision, its fired_at kept', () => {
    const kpiRecords = days(46, 40);
    const before = new Alerting().feed(kpiRecords);
    const last = before.changes.at(-1);
    const after = before.restarted(kpiRecords).feed(days(52).slice(46 * 4));
    expect(after.changes.at(-1)).toMatchObject({ alert_id: last?.alert_id, change: 'resolved', fired_at: last?.fired_at });
    expect(after.changes[0]?.revision).toBe((last?.revision ?? 0) + 1);
  });

  it('skips signals that are switched off', () => {
    const off = { ...DEFAULT_SIGNAL_SETTINGS, detractor_share: { ...DEFAULT_SIGNAL_SETTINGS.detractor_share, enabled: false } };
    const book = newAlertBook();
    for (const s of days(50, 40)) absorb(book, s);
    expect(evaluateBook(book, { ...SETTINGS, signals: off }, NOW).records).toEqual([]);
  });

  it('forgets kpiRecords before a day (as a restore reads), and then judges the same', () => {
    const kpiRecords = days(120, 110);
    const full = new Alerting().feed(kpiRecords);
    const book = newAlertBook();
    for (const s of kpiRecords) absorb(book, s);
    forgetKpiRecordsBefore(book, day(40));
    expect(Math.min(...[...(book.segments.get('smb')?.kpiRecords.keys() ?? [])].map(dayNumber))).toBe(dayNumber(day(40)));
    const fired = evaluateBook(book, SETTINGS, NOW).records.filter((r) => r.change === 'fired');
    expect(fired.map((r) => r.alert_id)).toEqual(full.changes.filter((r) => r.change === 'fired').map((r) => r.alert_id));
  });

  it('skips a changelog record it cannot read, saying why, instead of failing the take-over', () => {
    const book = newAlertBook();
    expect(restoreAlerts(book, 'smb|detractor_share', 'not json')).toMatch(/^not JSON/);
    expect(restoreAlerts(book, 'smb|detractor_share', '[{"alert_id":1}]')).toMatch(/alert_id/);
    expect(restoreAlerts(book, 'smb|no_such_signal', null)).toMatch(/unknown signal/);
    expect(book.records.size).toBe(0);
  });
});
