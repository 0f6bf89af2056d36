/** The records a partition publishes, made from its state: customer profiles, customers at risk, a window's KPI record. Pure. */
import type { EventOf } from '../../../schemas/event-contract.ts';
import type { CustomerAtRiskRecord, CustomerProfileRecord, SegmentKpiRecord } from '../../../schemas/processor-outputs.ts';
import type { AtRiskReason } from '../rules/at-risk.ts';
import type { Day } from '../rules/calendar.ts';
import { profileOf, type CustomerState } from '../rules/customer.ts';
import { fromMinorUnits } from '../rules/kpis.ts';
import type { RollingCounts } from '../rules/rolling.ts';
import type { OpenWindow } from './window-book.ts';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** `because.survey` is the survey that put the customer at risk; none when silence did (dormancy). */
export function atRiskRecord(
  customer: CustomerState,
  because: { at: number; survey?: EventOf<'survey_response'> },
  reasons: readonly AtRiskReason[],
): CustomerAtRiskRecord {
  const profile = profileOf(customer);
  const { survey } = because;
  return {
    customer_id: customer.customerId,
    segment: profile.segment,
    stage: profile.stage,
    reasons: [...reasons],
    at: new Date(because.at).toISOString(),
    event_id: survey?.event_id ?? null,
    survey_type: survey?.properties.survey_type ?? null,
    score: survey?.properties.score ?? null,
    comment: survey?.properties.comment ?? null,
    revenue: profile.revenue,
    revenue_by_currency: profile.revenue_by_currency,
    orders: profile.purchases,
  };
}

export function profileRecord(customer: CustomerState): CustomerProfileRecord {
  const p = profileOf(customer);
  return {
    ...p,
    stage_since: iso(p.stage_since),
    first_seen_at: new Date(p.first_seen_at).toISOString(),
    last_seen_at: new Date(p.last_seen_at).toISOString(),
    first_purchase_at: iso(p.first_purchase_at),
  };
}

/** Where a window's KPI record comes from: the partition and its time zone, and the revision it is of. */
export interface KpiRecordSource {
  readonly timeZone: string;
  readonly partition: number;
  readonly revision: number;
}

/** The KPI record of a segment's window on `day`: what this partition counted in it, and its rolling counts then. */
export function kpiRecordOf(
  source: KpiRecordSource,
  segment: string,
  day: Day,
  window: Readonly<OpenWindow>,
  rolling: RollingCounts,
): SegmentKpiRecord {
  const { transitionsTo, revenueMinor, revenueByCurrency, ordersByCurrency, socialByNetwork, ...numbers } = window.counts;
  return {
    segment,
    day,
    time_zone: source.timeZone,
    partition: source.partition,
    revision: source.revision,
    counts: { ...numbers, revenueMinor: revenueMinor.toString() },
    transitions_to: transitionsTo,
    revenue_by_currency: Object.fromEntries(
      Object.entries(revenueByCurrency).map(([currency, minor]) => [currency, fromMinorUnits(minor)]),
    ),
    orders_by_currency: ordersByCurrency,
    social_by_network: socialByNetwork,
    stage_counts: window.stageCounts,
    dormant_customers: window.dormant,
    newly_dormant_customers: window.newlyDormant,
    rolling,
    day_reached: window.reached,
  };
}
