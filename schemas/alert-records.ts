/**
 * The JSON records of churn alerting (topics in topics.ts): what the alerting service publishes
 * and what people say about an alert. The sink validates what it reads with these schemas, the
 * notifier and the CLI too, so writer and readers cannot drift.
 */
import { z } from 'zod';

const isoTime = z.iso.datetime({ offset: true });

/** The churn signals a segment alert can be about (how each is read: services/alerts/signals.ts). */
export const ALERT_SIGNAL_NAMES = [
  'dormant_share',
  'churn_rate',
  'retention_rate_7d',
  'detractor_share',
  'csat_mean',
  'csat_satisfied_share',
  'ces_mean',
  'negative_sentiment_share',
  'repeat_purchase_rate_30d',
  'buyers_30d',
] as const;
export type AlertSignalName = (typeof ALERT_SIGNAL_NAMES)[number];
const isoDay = z.iso.date();

/**
 * One alert as of one change: the alerts topic keeps every change (keyed by segment|signal), the
 * ClickHouse table the latest per alert. `change` says what this record is: the alert `fired`
 * (also again after a resolve that a late revision undid), was `updated` (a new value, a late
 * revision) or `resolved`.
 */
export const alertRecord = z.object({
  alert_id: z.uuid(),
  segment: z.string(),
  signal: z.enum(ALERT_SIGNAL_NAMES),
  status: z.enum(['firing', 'resolved']),
  change: z.enum(['fired', 'updated', 'resolved']),
  /** 1 for the first record of an alert, then +1 per change: the latest wins. */
  revision: z.number().int().min(1),
  /** The value, baseline and threshold of `window_day`: the latest breaching day (for a resolved alert, too). */
  value: z.number(),
  baseline: z.number(),
  threshold: z.number(),
  worse: z.enum(['up', 'down']),
  window_day: isoDay,
  /** 1 for a daily signal, 30 for a signal of the 30 days ending on window_day. */
  window_days: z.number().int().min(1),
  sample_size: z.number().int().min(0),
  /** The first breaching day of the run that fired, the day it fired, the day it resolved on. */
  start_day: isoDay,
  fired_day: isoDay,
  resolved_day: isoDay.nullable(),
  /** The worst value of the alert so far. */
  peak: z.number(),
  /** The signal's configured weight: a segment's churn score is the sum over its firing signals. */
  weight: z.number(),
  /** Wall-clock times: when the alerting service fired, resolved and last changed the alert. */
  fired_at: isoTime,
  resolved_at: isoTime.nullable(),
  updated_at: isoTime,
});
export type AlertRecord = z.infer<typeof alertRecord>;

/** The key of an alert record: one segment's signal, so its changes stay in order. */
export const alertKey = (segment: string, signal: string): string => `${segment}|${signal}`;

/**
 * What a person did about alerts (`journey alerts ack|snooze`), on a compacted topic: an `ack`
 * says someone is on it; a `snooze` silences notifications for its target (an alert id, a segment,
 * or `segment|signal`) until `until`. Alerts are recorded whatever is snoozed.
 */
export const alertActionRecord = z.discriminatedUnion('action', [
  z.object({ action: z.literal('ack'), target: z.uuid(), by: z.string(), at: isoTime, note: z.string().nullable() }),
  z.object({
    action: z.literal('snooze'),
    target: z.string().min(1),
    until: isoTime,
    by: z.string(),
    at: isoTime,
    note: z.string().nullable(),
  }),
]);
export type AlertActionRecord = z.infer<typeof alertActionRecord>;

/** The latest action per kind and target wins (a snooze until now lifts an earlier one). */
export const alertActionKey = (action: AlertActionRecord): string => `${action.action}|${action.target}`;
