import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { decimalTextOf, recordTypeOf, unscaledOf } from './avro-logical-types.ts';
import type { AlertActionRecord } from './alert-records.ts';
import { FIRING_ALERT } from '../test/helpers/records.ts';
import type { CustomerAtRiskRecord, CustomerProfileRecord, SegmentKpiRecord, StageTransitionRecord } from './processor-outputs.ts';
import { TOPIC_RECORDS, type TopicRecord } from './topic-records.ts';

/** Encoded with the logical types, decoded back, mapped and checked as a consumer of ours does. */
function roundTrip<T>(contract: TopicRecord<T>, value: T): unknown {
  const type = recordTypeOf(contract.avsc);
  return contract.record.parse(contract.fromWire(type.fromBuffer(type.toBuffer(contract.toWire(value)))));
}

/** What a client without our logical types sees: the standard Avro encodings. */
const plainly = (contract: TopicRecord<never>, wire: unknown) => {
  const type = recordTypeOf(contract.avsc);
  return avro.Type.forSchema(contract.avsc as avro.Schema).fromBuffer(type.toBuffer(wire)) as Record<string, unknown>;
};

const transition: StageTransitionRecord = {
  customer_id: 'مریم',
  segment: null,
  from_stage: 'discovery',
  to_stage: 'conversion',
  at: '2026-12-04T10:15:00.123Z',
  event_id: '6f1c7a4e-7d8b-4c55-9a8e-2f0f6e1d9b10',
};
const profile: CustomerProfileRecord = {
  customer_id: 'c1',
  segment: 'smb',
  stage: 'conversion',
  stage_since: '2026-12-01T00:00:00.000Z',
  first_seen_at: '2026-11-01T09:00:00.000Z',
  last_seen_at: '2026-12-04T10:15:00.000Z',
  page_views: 12,
  forms_submitted: 1,
  purchases: 2,
  revenue: '1000019.99',
  revenue_by_currency: { EUR: '19.99', IRR: '1000000.00' },
  first_purchase_at: null,
  last_nps: 9,
  last_csat: null,
  last_ces: 2,
  referral_source: 'instagram',
};
const atRisk: CustomerAtRiskRecord = {
  customer_id: 'c1',
  segment: 'smb',
  stage: 'ongoing_engagement',
  reasons: ['nps_detractor', 'negative_comment'],
  at: '2026-12-04T10:15:00.000Z',
  event_id: null,
  survey_type: 'nps',
  score: 2,
  comment: 'پشتیبانی جواب نداد',
  revenue: '0.0001',
  revenue_by_currency: { EUR: '0.0001' },
  orders: 1,
};
const kpiRecord: SegmentKpiRecord = {
  segment: '*',
  day: '2026-12-04',
  time_zone: 'Asia/Tehran',
  partition: 3,
  revision: 17,
  counts: { visitors: 4, orders: 2, csatSumMilli: 8500, purchaseCycleDaysSum: 0.932, revenueMinor: '12345678901234567890' },
  transitions_to: { conversion: 1 },
  revenue_by_currency: { EUR: '1234567890123456.789' },
  orders_by_currency: { EUR: 2 },
  social_by_network: { aparat: 1 },
  stage_counts: { discovery: 3, conversion: 1 },
  dormant_customers: 0,
  newly_dormant_customers: 0,
  rolling: { '1': { returningVisitors: 1 }, '7': { visitors: 9 }, '30': { visitors: 20, buyers: 2 } },
  day_reached: false,
};
const alert = FIRING_ALERT;
const ack: AlertActionRecord = { action: 'ack', target: alert.alert_id, by: 'نگار', at: '2026-12-04T10:00:00.000Z', note: null };
const snooze: AlertActionRecord = { ...ack, action: 'snooze', target: 'smb', until: '2026-12-05T10:00:00.000Z', note: 'Nowruz' };

describe('topic records', () => {
  it('carry every record through Avro unchanged', () => {
    expect(roundTrip(TOPIC_RECORDS.stageTransitions, transition)).toEqual(transition);
    expect(roundTrip(TOPIC_RECORDS.customerProfiles, profile)).toEqual(profile);
    expect(roundTrip(TOPIC_RECORDS.customersAtRisk, atRisk)).toEqual(atRisk);
    expect(roundTrip(TOPIC_RECORDS.segmentKpis, kpiRecord)).toEqual(kpiRecord);
    expect(roundTrip(TOPIC_RECORDS.alerts, alert)).toEqual(alert);
    expect(roundTrip(TOPIC_RECORDS.alertActions, ack)).toEqual(ack);
    expect(roundTrip(TOPIC_RECORDS.alertActions, snooze)).toEqual(snooze);
    const conflict = {
      anonymous_id: 'دستگاه-۷',
      customer_id: 'علی',
      status: 'conflict' as const,
      linked_to: 'مریم',
      at: '2026-11-24T08:00:00.000Z',
      event_id: '7d444840-9dc0-11d1-b245-5ffdce74fad2',
    };
    expect(roundTrip(TOPIC_RECORDS.identityLinks, conflict)).toEqual(conflict);
  });

  it('put times, days and money on the wire as Avro logical types, for any client', () => {
    const wire = plainly(TOPIC_RECORDS.alerts as TopicRecord<never>, alert);
    expect(wire.fired_at).toBe(Date.parse(alert.fired_at));
    expect(wire.window_day).toBe(Date.parse('2026-12-03T00:00:00Z') / 86_400_000);
    // 19.99 at scale 4 is 199900 = 0x030CDC, big-endian two's complement.
    const money = plainly(TOPIC_RECORDS.customerProfiles as TopicRecord<never>, profile);
    expect((money.revenue_by_currency as Record<string, Buffer>).EUR?.toString('hex')).toBe('030cdc');
    // The KPI record's revenue: its ten-thousandths counter as a decimal.
    const kpis = plainly(TOPIC_RECORDS.segmentKpis as TopicRecord<never>, TOPIC_RECORDS.segmentKpis.toWire(kpiRecord));
    expect(kpis).not.toHaveProperty('rolling');
    expect(kpis.rolling_30d).toEqual({ visitors: 20, buyers: 2 });
    expect((kpis.counts as Record<string, number>).revenueMinor).toBeUndefined();
  });

  it('refuse money with more decimals than the schema keeps instead of rounding it', () => {
    const type = recordTypeOf(TOPIC_RECORDS.customerProfiles.avsc);
    expect(() => type.toBuffer({ ...profile, revenue: '0.00001' })).toThrow();
    expect(() => type.toBuffer({ ...profile, first_seen_at: 'yesterday' })).toThrow();
  });

  it('each have a registered schema shape: a record in the journeyline outputs namespace', () => {
    for (const [name, contract] of Object.entries(TOPIC_RECORDS)) {
      expect(contract.avsc, name).toMatchObject({ type: 'record', namespace: 'dev.journeyline.outputs' });
    }
  });
});

describe('decimals', () => {
  it('keep the value and its sign at any size', () => {
    for (const text of ['0.00', '19.99', '-19.99', '0.0001', '-0.0001', '127.00', '128.00', '-128.00', '99999999999999999999999999.9999'])
      expect(decimalTextOf(unscaledOf(text, 4) as bigint, 4)).toBe(text);
    expect(unscaledOf('19.9', 4)).toBe(199_000n);
    expect(unscaledOf('1.23456', 4)).toBeUndefined();
    expect(unscaledOf('1.23450', 4)).toBe(12_345n);
    expect(unscaledOf('1e3', 4)).toBeUndefined();
  });

  it('are the shortest two’s complement a reader expects', () => {
    const type = recordTypeOf({
      type: 'record',
      name: 'M',
      fields: [{ name: 'm', type: { type: 'bytes', logicalType: 'decimal', precision: 38, scale: 2 } }],
    });
    const bytesOf = (m: string) => type.toBuffer({ m }).subarray(1).toString('hex');
    expect(bytesOf('1.27')).toBe('7f');
    expect(bytesOf('1.28')).toBe('0080');
    expect(bytesOf('-1.28')).toBe('80');
    expect(bytesOf('-1.29')).toBe('ff7f');
    expect(bytesOf('0.00')).toBe('00');
  });
});
