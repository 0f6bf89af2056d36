/**
 * Records → ClickHouse rows, pure. Rows hold only what the record and its Kafka position say (no
 * clock), so a block rebuilt from the same offsets after a crash is byte-for-byte the block sent
 * before it: that is what lets ClickHouse recognise and drop the replay.
 */
import { commentOf, type JourneyEvent } from '../../schemas/event-contract.ts';
import type {
  CustomerAtRiskRecord,
  CustomerProfileRecord,
  IdentityLinkRecord,
  SegmentKpiRecord,
  StageTransitionRecord,
} from '../../schemas/processor-outputs.ts';
import type { AlertActionRecord, AlertRecord } from '../../schemas/alert-records.ts';
import { clickHouseTime } from '../common/clickhouse.ts';
import { analyseComment } from '../sentiment/sentiment.ts';

/** Where a record sat in Kafka; `timestamp` is the record's own (producer) time, epoch ms. */
export interface KafkaPosition {
  readonly partition: number;
  readonly offset: string;
  readonly timestamp: string;
}

export type Row = Record<string, string | number | boolean | null | readonly string[] | Readonly<Record<string, number | string>>>;

const time = (iso: string | null): string | null => (iso === null ? null : clickHouseTime(Date.parse(iso)));
const lineage = (at: KafkaPosition) => ({ kafka_partition: at.partition, kafka_offset: Number(at.offset) });

export function eventRow(event: JourneyEvent, at: KafkaPosition): Row {
  const envelope: Row = {
    event_id: event.event_id,
    type: event.type,
    occurred_at: clickHouseTime(event.occurred_at),
    received_at: clickHouseTime(event.received_at),
    customer_id: event.customer_id,
    anonymous_id: event.anonymous_id,
    session_id: event.session_id,
    segment: event.segment,
    channel: event.channel,
    ...lineage(at),
  };
  // Property names are the column names (see 001_events.sql); absent ones default to NULL.
  return { ...envelope, ...event.properties, ...commentColumns(event) };
}

/** The sentiment of a survey's, review's or social comment's text (008_comment_sentiment.sql): a function of the text alone. */
function commentColumns(event: JourneyEvent): Row {
  const comment = commentOf(event);
  if (comment === null) return {};
  const { language, sentiment, score } = analyseComment(comment);
  return { comment_language: language, comment_sentiment: sentiment, comment_score: score };
}

/** A record whose one time is `at`, as it is: customers at risk, stage transitions, identity links. */
const timedRow = (r: { readonly at: string }, at: KafkaPosition): Row => ({
  ...(r as Row),
  at: clickHouseTime(Date.parse(r.at)),
  ...lineage(at),
});
export const atRiskRow: (r: CustomerAtRiskRecord, at: KafkaPosition) => Row = timedRow;
export const transitionRow: (t: StageTransitionRecord, at: KafkaPosition) => Row = timedRow;
export const identityLinkRow: (l: IdentityLinkRecord, at: KafkaPosition) => Row = timedRow;

export function profileRow(p: CustomerProfileRecord, at: KafkaPosition): Row {
  return {
    ...p,
    stage_since: time(p.stage_since),
    first_seen_at: clickHouseTime(Date.parse(p.first_seen_at)),
    last_seen_at: clickHouseTime(Date.parse(p.last_seen_at)),
    first_purchase_at: time(p.first_purchase_at),
    updated_at: clickHouseTime(Number(at.timestamp)),
    ...lineage(at),
  };
}

export function stageRow(p: CustomerProfileRecord, at: KafkaPosition): Row {
  return {
    customer_id: p.customer_id,
    segment: p.segment,
    stage: p.stage,
    stage_since: time(p.stage_since),
    updated_at: clickHouseTime(Number(at.timestamp)),
    ...lineage(at),
  };
}

/**
 * Of records that replace each other by key (a table keeping the latest row per key), the last
 * one per key, in their order: what ClickHouse would keep of the block anyway, without inserting
 * the rest. Deterministic, so a block rebuilt after a crash is the block sent before it.
 */
export function lastPerKey<T>(items: readonly T[], keyOf: (item: T) => string): T[] {
  const last = new Map<string, number>();
  items.forEach((item, index) => last.set(keyOf(item), index));
  return items.filter((item, index) => last.get(keyOf(item)) === index);
}

const snakeCase = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Ten-thousandths as a string → the decimal ClickHouse reads into Decimal(38, 4). */
function minorToDecimal(minor: string): string {
  const negative = minor.startsWith('-');
  const digits = (negative ? minor.slice(1) : minor).padStart(5, '0');
  return `${negative ? '-' : ''}${digits.slice(0, -4)}.${digits.slice(-4)}`;
}

/** `{ '7': { visitors: 3 } }` → `{ visitors_7d: 3 }` (columns of 004_rolling_views.sql). */
function rollingColumns(rolling: SegmentKpiRecord['rolling']): Row {
  const columns: Row = {};
  for (const [length, counts] of Object.entries(rolling)) {
    for (const [name, value] of Object.entries(counts)) columns[`${snakeCase(name)}_${length}d`] = value;
  }
  return columns;
}

export function kpiRecordRow(w: SegmentKpiRecord, at: KafkaPosition): Row {
  const counts: Row = {};
  for (const [name, value] of Object.entries(w.counts)) {
    if (name === 'revenueMinor') counts.revenue = minorToDecimal(String(value));
    else counts[snakeCase(name)] = value;
  }
  return {
    segment: w.segment,
    day: w.day,
    time_zone: w.time_zone,
    partition: w.partition,
    revision: w.revision,
    ...counts,
    dormant_customers: w.dormant_customers,
    newly_dormant_customers: w.newly_dormant_customers,
    ...rollingColumns(w.rolling),
    day_reached: w.day_reached,
    transitions_to: w.transitions_to,
    revenue_by_currency: w.revenue_by_currency,
    orders_by_currency: w.orders_by_currency,
    social_by_network: w.social_by_network,
    stage_counts: w.stage_counts,
    updated_at: clickHouseTime(Number(at.timestamp)),
    ...lineage(at),
  };
}

/** One change of an alert (columns of 003_alerts.sql as 007_churn_alerting.sql extends them). */
export function alertRow(a: AlertRecord, at: KafkaPosition): Row {
  const direction = a.worse === 'up' ? 'above' : 'below';
  return {
    alert_id: a.alert_id,
    fired_at: clickHouseTime(Date.parse(a.fired_at)),
    segment: a.segment,
    window_day: a.window_day,
    kind: 'segment_churn',
    severity: 'warning',
    signal: a.signal,
    value: a.value,
    threshold: a.threshold,
    message:
      a.status === 'firing'
        ? `${a.signal} ${String(a.value)} ${direction} threshold ${String(a.threshold)} (baseline ${String(a.baseline)}) since ${a.start_day}`
        : `${a.signal} back to normal on ${a.resolved_day ?? a.window_day}`,
    status: a.status,
    baseline: a.baseline,
    window_days: a.window_days,
    resolved_at: time(a.resolved_at),
    sample_size: a.sample_size,
    details: JSON.stringify({
      change: a.change,
      worse: a.worse,
      start_day: a.start_day,
      fired_day: a.fired_day,
      resolved_day: a.resolved_day,
      peak: a.peak,
      weight: a.weight,
    }),
    revision: a.revision,
    updated_at: clickHouseTime(Date.parse(a.updated_at)),
    ...lineage(at),
  };
}

export function alertActionRow(a: AlertActionRecord, at: KafkaPosition): Row {
  return {
    action: a.action,
    target: a.target,
    until: a.action === 'snooze' ? time(a.until) : null,
    by: a.by,
    at: clickHouseTime(Date.parse(a.at)),
    note: a.note,
    ...lineage(at),
  };
}
