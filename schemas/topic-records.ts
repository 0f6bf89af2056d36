/**
 * What each topic journeyline writes for others to read carries: its Avro schema (avro/*.avsc,
 * registered under `<topic>-value`, Confluent wire format, so any Confluent-compatible client reads
 * it) and the zod record the services type and check it with. Times, days and money are Avro
 * logical types on the wire and strings in TypeScript (avro-logical-types.ts). Where the two shapes
 * differ (a segment's KPI record) the mapping is here, once.
 *
 * Not here, on purpose: the events topic (journey-event.avsc, event-contract.ts), the dead-letter
 * and late-events topics (untouched copies of what came in), and the two changelogs (each
 * service's own state, read back only by the service that wrote it).
 */
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { alertActionRecord, alertRecord } from './alert-records.ts';
import {
  customerAtRiskRecord,
  customerProfileRecord,
  identityLinkRecord,
  segmentKpiRecord,
  stageTransitionRecord,
  type SegmentKpiRecord,
} from './processor-outputs.ts';
import { decimalTextOf, unscaledOf } from './avro-logical-types.ts';

export interface TopicRecord<T> {
  /** The Avro schema of the topic's values. */
  readonly avsc: Readonly<Record<string, unknown>>;
  /** What a decoded value must satisfy beyond its Avro types (formats, ranges). */
  readonly record: z.ZodType<T>;
  /** The record as Avro carries it, and back (identity where the shapes agree). */
  toWire(value: T): unknown;
  fromWire(wire: unknown): unknown;
}

const avscOf = (file: string): Readonly<Record<string, unknown>> =>
  JSON.parse(readFileSync(new URL(`./avro/${file}`, import.meta.url), 'utf8')) as Record<string, unknown>;

const sameShape = <T>(file: string, record: z.ZodType<T>): TopicRecord<T> => ({
  avsc: avscOf(file),
  record,
  toWire: (value) => value,
  fromWire: (wire) => wire,
});

/** Ten-thousandths: the scale of `revenueMinor` and of the Avro decimals. */
const MONEY_SCALE = 4;

interface SegmentKpiWire extends Omit<SegmentKpiRecord, 'counts' | 'rolling'> {
  counts: Record<string, number>;
  revenue: string;
  rolling_1d: Record<string, number>;
  rolling_7d: Record<string, number>;
  rolling_30d: Record<string, number>;
}

/**
 * A KPI record's counters are one map of longs on the wire with revenue beside them as a decimal (in
 * the processor, `counts.revenueMinor` is ten-thousandths as a string), and its rolling counts
 * three maps (Avro names cannot be `7`).
 */
const segmentKpis: TopicRecord<SegmentKpiRecord> = {
  avsc: avscOf('segment-kpi-partial.avsc'),
  record: segmentKpiRecord,
  toWire: ({ counts, rolling, ...rest }): SegmentKpiWire => {
    const { revenueMinor = '0', ...numbers } = counts;
    return {
      ...rest,
      counts: numbers as Record<string, number>,
      revenue: decimalTextOf(BigInt(revenueMinor), MONEY_SCALE),
      rolling_1d: rolling['1'],
      rolling_7d: rolling['7'],
      rolling_30d: rolling['30'],
    };
  },
  fromWire: (wire) => {
    const { counts, revenue, rolling_1d, rolling_7d, rolling_30d, ...rest } = wire as SegmentKpiWire;
    return {
      ...rest,
      counts: { ...counts, revenueMinor: String(unscaledOf(revenue, MONEY_SCALE)) },
      rolling: { '1': rolling_1d, '7': rolling_7d, '30': rolling_30d },
    };
  },
};

/** The record of each topic that others read, by its key in topicsFor. */
export const TOPIC_RECORDS = {
  stageTransitions: sameShape('stage-transition.avsc', stageTransitionRecord),
  customerProfiles: sameShape('customer-profile.avsc', customerProfileRecord),
  identityLinks: sameShape('identity-link.avsc', identityLinkRecord),
  customersAtRisk: sameShape('customer-at-risk.avsc', customerAtRiskRecord),
  segmentKpis,
  alerts: sameShape('alert.avsc', alertRecord),
  alertActions: sameShape('alert-action.avsc', alertActionRecord),
} as const;

export type TopicWithRecord = keyof typeof TOPIC_RECORDS;

/** The TypeScript record of a topic. */
export type RecordOf<K extends TopicWithRecord> = (typeof TOPIC_RECORDS)[K] extends TopicRecord<infer T> ? T : never;
