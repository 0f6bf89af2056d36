import { describe, expect, it } from 'vitest';
import type { SegmentKpiRecord } from '../../schemas/processor-outputs.ts';
import { readingsOf, slimKpiRecord, windowOf } from './signals.ts';
import { kpiRecordWith } from '../../test/helpers/records.ts';

const kpiRecord = (
  partition: number,
  counts: Record<string, number>,
  stages: Record<string, number>,
  dormant: [dormant: number, newly: number],
  rolling30: Record<string, number>,
  rolling7: Record<string, number> = {},
): SegmentKpiRecord =>
  kpiRecordWith({
    segment: 'smb',
    day: '2026-11-20',
    partition,
    counts: { revenueMinor: '0', ...counts },
    stage_counts: stages,
    dormant_customers: dormant[0],
    newly_dormant_customers: dormant[1],
    rolling: { '1': {}, '7': rolling7, '30': rolling30 },
  });

describe('windowOf and readingsOf', () => {
  it('adds up the partitions of a window, then reads each signal with its sample', () => {
    const window = windowOf([
      kpiRecord(
        0,
        {
          npsPromoters: 5,
          npsPassives: 2,
          npsDetractors: 3,
          // Written before survey scales: the sum in points.
          csatSum: 8,
          csatResponses: 2,
          csatSatisfied: 1,
          negativeComments: 1,
          neutralComments: 1,
        },
        { conversion: 6, ongoing_engagement: 2, discovery: 9 },
        [2, 1],
        { buyers: 10, repeatBuyers: 2 },
        { returningVisitors: 3, previousVisitors: 10 },
      ),
      kpiRecord(
        1,
        { npsDetractors: 2, cesSumMilli: 12_000, cesResponses: 3, positiveComments: 2 },
        { conversion: 2 },
        [1, 0],
        {
          buyers: 6,
          repeatBuyers: 2,
        },
        { returningVisitors: 1, previousVisitors: 6 },
      ),
    ]);
    expect(window && readingsOf(window)).toEqual({
      dormant_share: { value: 3 / 10, sample: 10 },
      // 10 converted, 3 dormant by the day's end, 1 of them since that day: 1 of the 8 who began it silent-free.
      churn_rate: { value: 1 / 8, sample: 8 },
      retention_rate_7d: { value: 4 / 16, sample: 16 },
      detractor_share: { value: 5 / 12, sample: 12 },
      csat_mean: { value: 4, sample: 2 },
      csat_satisfied_share: { value: 0.5, sample: 2 },
      ces_mean: { value: 4, sample: 3 },
      negative_sentiment_share: { value: 1 / 4, sample: 4 },
      repeat_purchase_rate_30d: { value: 4 / 16, sample: 16 },
      buyers_30d: { value: 16, sample: 16 },
    });
  });

  it('reads no value where there is nothing to divide by', () => {
    const window = windowOf([kpiRecord(0, {}, {}, [0, 0], {})]);
    expect(window && readingsOf(window).detractor_share).toEqual({ value: null, sample: 0 });
    expect(windowOf([])).toBeUndefined();
  });

  it('reads the same from the slim kpiRecords the alerting state keeps', () => {
    const full = kpiRecord(
      0,
      { npsDetractors: 3, npsPromoters: 4, csatSum: 9, csatResponses: 2, pageViews: 40, orders: 3 },
      { conversion: 5, ongoing_engagement: 1, discovery: 7 },
      [2, 1],
      { buyers: 8, repeatBuyers: 3, visitors: 50 },
      { returningVisitors: 4, previousVisitors: 9, sessions: 12 },
    );
    const slim = slimKpiRecord(full);
    expect(JSON.stringify(slim).length).toBeLessThan(JSON.stringify(full).length);
    expect(readingsOf(windowOf([slim]) as never)).toEqual(readingsOf(windowOf([full]) as never));
  });
});
