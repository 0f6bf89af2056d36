import { describe, expect, it } from 'vitest';
import { dayName, dayNumber, type Day } from '../../schemas/days.ts';
import { ALL_SEGMENTS } from '../../schemas/event-contract.ts';
import type { SegmentKpiPartial } from '../../schemas/processor-outputs.ts';
import {
  DEFAULT_SIGNAL_SETTINGS,
  evaluate,
  newSegmentAlertState,
  progressOf,
  recordShare,
  watermarkOf,
  type AlertChange,
  type SegmentAlertState,
} from './segment-alerts.ts';

const DAY0 = dayNumber('2026-09-01');
const day = (i: number) => dayName(DAY0 + i);
const PARTITIONS = 2;

/** One processor partition's share of a day: `detractors` of 25 NPS answers. */
const share = (segment: string, i: number, partition: number, detractors: number, revision = 1): SegmentKpiPartial => ({
  segment,
  day: day(i),
  time_zone: 'UTC',
  partition,
  revision,
  counts: { revenueMinor: '0', npsDetractors: detractors, npsPromoters: 25 - detractors },
  transitions_to: {},
  revenue_by_currency: {},
  stage_counts: {},
  dormant_customers: 0,
  rolling: { '7': {}, '30': {} },
  day_reached: true,
});

/** The consumer's loop in miniature: progress from `*`, each share recorded, its segment evaluated. */
class Alerting {
  progress: ReadonlyMap<number, Day> = new Map();
  readonly segments = new Map<string, SegmentAlertState>();
  readonly changes: AlertChange[] = [];

  feed(shares: readonly SegmentKpiPartial[]): this {
    for (const s of shares) {
      this.progress = progressOf(this.progress, s);
      let state = recordShare(this.segments.get(s.segment) ?? newSegmentAlertState(s.segment), s);
      const watermark = watermarkOf(this.progress, PARTITIONS);
      if (watermark !== undefined) {
        const step = evaluate(state, watermark, DEFAULT_SIGNAL_SETTINGS, 60);
        state = step.state;
        this.changes.push(...step.changed);
      }
      this.segments.set(s.segment, state);
    }
    return this;
  }
}

/** Both partitions' shares of `smb` and `*` per day: a steady 12–16 % detractors, 60 % from `jumpFrom` on. */
function days(count: number, jumpFrom = Number.POSITIVE_INFINITY, partitions = [0, 1]) {
  return Array.from({ length: count }, (_, i) =>
    partitions.flatMap((p) => {
      const detractors = i >= jumpFrom ? 15 : 3 + ((i + p) % 2);
      return [share('smb', i, p, detractors), share(ALL_SEGMENTS, i, p, 3)];
    }),
  ).flat();
}

describe('segment alerting', () => {
  it('fires one alert for a rising signal of the segment, and none for a steady one', () => {
    expect(new Alerting().feed(days(60)).changes).toEqual([]);
    const { changes } = new Alerting().feed(days(50, 40));
    expect([...new Set(changes.map((c) => `${c.segment} ${c.signal} ${c.status} ${c.id}`))]).toEqual([
      `smb detractor_share firing smb|detractor_share|${day(40)}`,
    ]);
  });

  it('judges no day before every processor partition has passed it', () => {
    // Partition 0 runs 45 days ahead while partition 1 has reported nothing: nothing is judged.
    const alerting = new Alerting().feed(days(45, 40, [0]));
    expect(alerting.changes).toEqual([]);
    expect(watermarkOf(alerting.progress, PARTITIONS)).toBeUndefined();
    // Partition 1 catches up: the jump is judged, once.
    alerting.feed(days(45, 40, [1]));
    expect([...new Set(alerting.changes.map((c) => c.id))]).toEqual([`smb|detractor_share|${day(40)}`]);
  });

  it('ignores an older revision arriving after a newer one, and updates on a newer one without a second alert', () => {
    const alerting = new Alerting().feed(days(50, 40));
    const changesBefore = alerting.changes.length;
    alerting.feed([share('smb', 45, 0, 0, 0)]);
    expect([alerting.segments.get('smb')?.shares.get(day(45))?.get(0)?.revision, alerting.changes.length]).toEqual([1, changesBefore]);
    alerting.feed([share('smb', 44, 0, 20, 2)]);
    expect(new Set(alerting.changes.map((c) => c.id))).toEqual(new Set([`smb|detractor_share|${day(40)}`]));
  });

  it('keeps only the lookback of days (and the days not yet complete)', () => {
    const { segments } = new Alerting().feed(days(200));
    // 60 days of lookback, the last complete day, and the one or two days not yet complete.
    expect(segments.get('smb')?.shares.size).toBeLessThanOrEqual(63);
  });
});
