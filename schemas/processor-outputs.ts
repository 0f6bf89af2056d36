/**
 * The JSON records the processor publishes (topics in topics.ts), as zod schemas: the processor's
 * outputs are typed by them and the sink validates what it reads with them, so the two cannot
 * drift. Times are ISO-8601 UTC strings, money is an exact decimal string.
 */
import { z } from 'zod';

/** The funnel stages, in order (services/processor/rules/stage.ts decides them). */
export const STAGES = ['unaware', 'discovery', 'consideration', 'conversion', 'ongoing_engagement'] as const;
export type Stage = (typeof STAGES)[number];

/** The stages of customers who have bought: dormancy, churn and at-risk are about them. */
export const CONVERTED_STAGES: ReadonlySet<Stage> = new Set(['conversion', 'ongoing_engagement']);

const isoTime = z.iso.datetime({ offset: true });
const decimal = z.string().regex(/^-?\d+(\.\d+)?$/, 'must be a decimal string');

export const stageTransitionRecord = z.object({
  customer_id: z.string(),
  segment: z.string().nullable(),
  from_stage: z.string(),
  to_stage: z.string(),
  at: isoTime,
  event_id: z.uuid(),
});
export type StageTransitionRecord = z.infer<typeof stageTransitionRecord>;

const score = z.number().int().nullable();
export const customerProfileRecord = z.object({
  customer_id: z.string(),
  segment: z.string().nullable(),
  stage: z.string(),
  stage_since: isoTime.nullable(),
  first_seen_at: isoTime,
  last_seen_at: isoTime,
  page_views: z.number().int(),
  forms_submitted: z.number().int(),
  purchases: z.number().int(),
  /** Every currency added up: meaningful only when the customer pays in one. */
  revenue: decimal,
  /** Revenue per ISO 4217 currency. */
  revenue_by_currency: z.record(z.string(), decimal).default({}),
  first_purchase_at: isoTime.nullable(),
  last_nps: score,
  last_csat: score,
  last_ces: score,
  /** How the customer heard of the business: their earliest answer (absent from records written before it). */
  referral_source: z.string().nullable().default(null),
});
export type CustomerProfileRecord = z.infer<typeof customerProfileRecord>;

/**
 * A converted customer whom a survey put at risk (services/processor/rules/at-risk.ts), with what
 * they are worth: customer success contacts these first. Keyed by customer; latest by `at` wins.
 */
export const customerAtRiskRecord = z.object({
  customer_id: z.string(),
  segment: z.string().nullable(),
  stage: z.string(),
  reasons: z.array(z.string()).min(1),
  at: isoTime,
  /** The survey that put the customer at risk; all four null when silence did (reason `dormant`). */
  event_id: z.uuid().nullable(),
  survey_type: z.string().nullable(),
  score: z.number().int().nullable(),
  comment: z.string().nullable(),
  revenue: decimal,
  revenue_by_currency: z.record(z.string(), decimal),
  orders: z.number().int(),
});
export type CustomerAtRiskRecord = z.infer<typeof customerAtRiskRecord>;

/**
 * One processor partition's KPI record of a daily window. The KPI records of all partitions add up to the
 * window (each customer lives in exactly one partition), so a reader keeps the latest revision
 * per key and sums by (segment, day). A revision is where the processor's input partition stood
 * when the KPI record went out: every later one of the partition has a higher one, after restarts
 * too. `counts` fields are those of WindowCounts in services/processor/rules/window-deltas.ts;
 * `revenueMinor` is ten-thousandths, as a string.
 */
export const segmentKpiRecord = z.object({
  segment: z.string(),
  day: z.iso.date(),
  time_zone: z.string(),
  partition: z.number().int().min(0),
  revision: z.number().int().min(0),
  counts: z.record(z.string(), z.union([z.number(), z.string()])),
  transitions_to: z.record(z.string(), z.number().int()),
  /** Revenue per ISO 4217 currency (counts.revenueMinor adds all currencies up). */
  revenue_by_currency: z.record(z.string(), decimal).default({}),
  /** Orders per ISO 4217 currency (absent from records written before it). */
  orders_by_currency: z.record(z.string(), z.number().int()).default({}),
  /** Social engagements per network (absent from records written before them). */
  social_by_network: z.record(z.string(), z.number().int()).default({}),
  /** Customers per current stage, as of the latest emission for this window (stream time). */
  stage_counts: z.record(z.string(), z.number().int()),
  dormant_customers: z.number().int(),
  /** Of those, the ones whose DORMANT_AFTER_DAYS of silence ended on `day` (the day's churn). */
  newly_dormant_customers: z.number().int().default(0),
  /**
   * Distinct counts of the rolling 7- and 30-day windows ending on `day` (visitors, sessions,
   * timedSessions, buyers, repeatBuyers; returningVisitors: visitors of the window who also
   * visited in the one before it, previousVisitors: visitors of the one before): this partition's part, additive like `counts`. Sums of
   * a rolling window are the sums of its days' `counts`.
   */
  rolling: z.object({
    /** Day over day: returningVisitors and previousVisitors only (absent from records written before them). */
    '1': z.record(z.string(), z.number().int()).default({}),
    '7': z.record(z.string(), z.number().int()),
    '30': z.record(z.string(), z.number().int()),
  }),
  /**
   * False for a day still ahead of this partition's stream time (published for its rolling counts
   * only). A reader shows a day once any partition has reached it.
   */
  day_reached: z.boolean(),
});
export type SegmentKpiRecord = z.infer<typeof segmentKpiRecord>;

export const segmentKpiKey = (segment: string, day: string, partition: number): string => `${segment}|${day}|${partition}`;
/**
 * What a segment-kpis record is partitioned by: its segment and day, without the processor
 * partition, so all KPI records of one window sit in one partition and one consumer can add them up
 * (the alerting service), while compaction still keeps the latest of each.
 */
export const segmentKpiRoute = (key: string): string => key.slice(0, key.lastIndexOf('|'));

/** What became of an anonymous id: see services/processor/identity and rules/merge.ts. */
export const IDENTITY_LINK_STATUSES = ['linked', 'conflict', 'merged', 'overflow'] as const;

/**
 * One identity decision. `linked`: the first customer to claim the anonymous id (the identity
 * step); `conflict`: a later, different claim, not merged (`linked_to` names the first);
 * `merged`: the visitor's history merged into the customer (the customer's partition, once per
 * link); `overflow`: not merged, the customer had IDENTITY_MAX_ANONYMOUS_IDS already.
 */
export const identityLinkRecord = z.object({
  anonymous_id: z.string(),
  customer_id: z.string(),
  status: z.enum(IDENTITY_LINK_STATUSES),
  linked_to: z.string().nullable(),
  /** Event time of the event that linked them. */
  at: isoTime,
  event_id: z.uuid(),
});
export type IdentityLinkRecord = z.infer<typeof identityLinkRecord>;
