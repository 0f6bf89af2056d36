import type { AlertRecord } from '../../schemas/alert-records.ts';
import type { SegmentKpiRecord } from '../../schemas/processor-outputs.ts';

/** One processor partition's KPI record of a day with nothing counted, and what a test counts laid over it. */
export const kpiRecordWith = (record: Pick<SegmentKpiRecord, 'segment' | 'day'> & Partial<SegmentKpiRecord>): SegmentKpiRecord => ({
  time_zone: 'UTC',
  partition: 0,
  revision: 1,
  counts: { revenueMinor: '0' },
  transitions_to: {},
  revenue_by_currency: {},
  orders_by_currency: {},
  social_by_network: {},
  stage_counts: {},
  dormant_customers: 0,
  newly_dormant_customers: 0,
  rolling: { '1': {}, '7': {}, '30': {} },
  day_reached: true,
  ...record,
});

/** A firing alert as the alerting service publishes it. */
export const FIRING_ALERT: AlertRecord = {
  alert_id: '0b3c1e9a-58c4-4d5e-8f3c-6b1a2d3e4f50',
  segment: 'smb',
  signal: 'detractor_share',
  status: 'firing',
  change: 'fired',
  revision: 1,
  value: 0.42,
  baseline: 0.1,
  threshold: 0.25,
  worse: 'up',
  window_day: '2026-12-03',
  window_days: 1,
  sample_size: 50,
  start_day: '2026-12-02',
  fired_day: '2026-12-03',
  resolved_day: null,
  peak: 0.42,
  weight: 1.5,
  fired_at: '2026-12-04T10:00:00.000Z',
  resolved_at: null,
  updated_at: '2026-12-04T10:00:00.000Z',
};
