/**
 * The JSON records the processor publishes (topics in topics.ts). Times are ISO-8601 UTC strings,
 * money is an exact decimal string. These shapes are what the sink and the alerts service read.
 */
export interface StageTransitionRecord {
  readonly customer_id: string;
  readonly segment: string | null;
  readonly from_stage: string;
  readonly to_stage: string;
  readonly at: string;
  readonly event_id: string;
}

export interface CustomerProfileRecord {
  readonly customer_id: string;
  readonly segment: string | null;
  readonly stage: string;
  readonly stage_since: string | null;
  readonly first_seen_at: string;
  readonly last_seen_at: string;
  readonly page_views: number;
  readonly forms_submitted: number;
  readonly purchases: number;
  readonly revenue: string;
  readonly first_purchase_at: string | null;
  readonly last_nps: number | null;
  readonly last_csat: number | null;
  readonly last_ces: number | null;
}

/**
 * One processor partition's share of a daily window. The shares of all partitions add up to the
 * window (each customer lives in exactly one partition), so a reader keeps the latest revision
 * per key and sums by (segment, day). Field names are those of services/processor/rules/kpis.ts.
 */
export interface SegmentKpiPartial {
  readonly segment: string;
  readonly day: string;
  readonly time_zone: string;
  readonly partition: number;
  readonly revision: number;
  readonly counts: Readonly<Record<string, number | string>>;
  readonly transitions_to: Readonly<Record<string, number>>;
  /** Customers per current stage, as of the latest emission for this window (stream time). */
  readonly stage_counts: Readonly<Record<string, number>>;
  readonly dormant_customers: number;
}

export const segmentKpiKey = (segment: string, day: string, partition: number): string => `${segment}|${day}|${partition}`;
