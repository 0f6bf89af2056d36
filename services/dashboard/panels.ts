/**
 * What the dashboard shows, as data: the request each panel accepts (validated, the field named
 * when wrong), the read-only SQL it runs (values only as query parameters) and the shape its rows
 * take on the way to the page. Pure; dashboard.ts runs the queries.
 *
 * The funnel follows one rule analysts expect from PostHog and Amplitude: a customer at a stage has
 * passed every earlier stage, so one who bought on the first visit counts in discovery and
 * consideration too, and no step converts more than 100 % of the one before it.
 */
import { z } from 'zod';
import { STAGES } from '../../schemas/processor-outputs.ts';

export const KPI_WINDOWS = ['1', '7', '30'] as const;

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const day = z
  .string()
  .regex(DAY, 'must be a day, YYYY-MM-DD')
  .refine((value) => !Number.isNaN(Date.parse(`${value}T00:00:00Z`)), 'is not a calendar day');

/** `*` is every segment together; any other value is one segment as the events named it. */
const segment = z
  .string()
  .min(1, 'must not be empty')
  .max(200, 'is longer than 200 characters')
  // eslint-disable-next-line no-control-regex -- control characters are what this refuses
  .refine((value) => !/[\u0000-\u001f\u007f]/.test(value), 'has control characters');

/** The query string of a panel: one segment (or `*`), a KPI window and a range of days. */
export const panelRequest = z
  .object({
    segment: segment.default('*'),
    window: z.enum(KPI_WINDOWS, { error: `must be one of ${KPI_WINDOWS.join(', ')}` }).default('1'),
    from: day.optional(),
    to: day.optional(),
  })
  .refine((r) => r.from === undefined || r.to === undefined || r.from <= r.to, { message: 'must not be after to', path: ['from'] });
export type PanelRequest = z.infer<typeof panelRequest>;

/** The request, or the first problem as `field: message`. */
export function parsePanelRequest(query: URLSearchParams): PanelRequest | { readonly error: string } {
  const fields: Record<string, string> = {};
  for (const name of ['segment', 'window', 'from', 'to']) {
    const value = query.get(name);
    if (value !== null && value !== '') fields[name] = value;
  }
  const parsed = panelRequest.safeParse(fields);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  return { error: `${issue?.path.join('.') || '(query)'}: ${issue?.message ?? 'invalid'}` };
}

/** The days a range covers when the page has not picked one: everything. */
const FIRST_DAY = '1970-01-01';
const LAST_DAY = '2299-12-31';

export function rangeParams(request: PanelRequest): { readonly from: string; readonly to: string } {
  return { from: request.from ?? FIRST_DAY, to: request.to ?? LAST_DAY };
}

// -- SQL ----------------------------------------------------------------------------------------

/**
 * Segments with their first and last day of KPIs, and the reporting time zone those days are in.
 * Days no processor partition has reached yet (dormancy already scheduled for them) are not days of data.
 */
export const META_SQL = `
SELECT segment, toString(min(day)) AS first_day, toString(max(day)) AS last_day, any(time_zone) AS time_zone
FROM journey.segment_kpi_partials
WHERE day_reached
GROUP BY segment
ORDER BY segment = '*' DESC, segment
LIMIT 1000`;

const STAGE_ARRAY = `[${STAGES.map((stage) => `'${stage}'`).join(', ')}]`;
/** indexOf in STAGE_ARRAY is 1-based: level 1 is the first stage. */
const reachedAt = (level: number) => `minIf(at, indexOf(${STAGE_ARRAY}, to_stage) >= ${level})`;

/**
 * The cohort is the customers first seen in the range (days in the reporting time zone). A
 * customer's time of reaching a stage is their earliest transition to it or any later stage, so
 * skipped stages are reached at the moment of the jump (time to convert 0).
 */
export const FUNNEL_SQL = `
WITH
    cohort AS
    (
        SELECT customer_id, indexOf(${STAGE_ARRAY}, stage) AS level, first_seen_at, stage_since
        FROM journey.people
        WHERE ({segment:String} = '*' OR segment = {segment:String})
          AND toDate(first_seen_at, {time_zone:String}) BETWEEN {from:Date} AND {to:Date}
    ),
    reached AS
    (
        SELECT customer_id, ${STAGES.slice(1)
          .map((_, i) => `${reachedAt(i + 2)} AS at_${String(i + 2)}`)
          .join(', ')}
        FROM journey.stage_transitions
        WHERE customer_id IN (SELECT customer_id FROM cohort)
        GROUP BY customer_id
    )
SELECT
    count() AS customers,
    ${STAGES.map((_, i) => `countIf(c.level >= ${String(i + 1)}) AS reached_${String(i + 1)}, countIf(c.level = ${String(i + 1)}) AS at_stage_${String(i + 1)}`).join(',\n    ')},
    ${STAGES.slice(1)
      .map(
        (_, i) =>
          `quantileExactIf(0.5)(dateDiff('second', ${i === 0 ? 'c.first_seen_at' : `r.at_${String(i + 1)}`}, r.at_${String(i + 2)}), c.level >= ${String(i + 2)}) AS median_s_${String(i + 2)}`,
      )
      .join(',\n    ')},
    countIf(c.level = ${String(STAGES.indexOf('consideration') + 1)} AND c.stage_since < (SELECT max(occurred_at) FROM journey.events) - INTERVAL {stuck_days:UInt16} DAY) AS stuck
FROM cohort AS c
LEFT JOIN reached AS r ON r.customer_id = c.customer_id`;

/** KPI_FIELDS: the columns of journey.segment_kpis the trends chart, in the order the page shows them. */
export const KPI_FIELDS = [
  'conversion_rate_pct',
  'revenue',
  'aov',
  'orders',
  'nps',
  'csat',
  'ces',
  'ctr_pct',
  'pages_per_visit',
  'avg_time_on_site_s',
  'repeat_purchase_rate_pct',
  'in_window_repeat_purchase_rate_pct',
  'churn_rate_pct',
  'retention_rate_pct',
  'avg_review_rating',
  'reviews',
  'cart_abandonment_rate_pct',
  'social_engagements',
  'visitors',
  'buyers',
  'nps_responses',
  'csat_responses',
  'ces_responses',
  'churned_customers',
  'dormant_customers',
] as const;
export type KpiField = (typeof KPI_FIELDS)[number];

/** Money per ISO 4217 currency: revenue and AOV are one figure only in a window that sold in one currency. */
export const MONEY_FIELDS = ['revenue_by_currency', 'aov_by_currency'] as const;
export type MoneyField = (typeof MONEY_FIELDS)[number];

export const KPIS_SQL = `
SELECT day, ${KPI_FIELDS.join(', ')}, ${MONEY_FIELDS.join(', ')}
FROM journey.segment_kpis
WHERE segment = {segment:String} AND window_days = {window:UInt8} AND day BETWEEN {from:Date} AND {to:Date}
ORDER BY day
LIMIT 3660`;

/** Alerts firing now, and those resolved in the last week (wall clock), firing first. */
export const ALERTS_SQL = `
SELECT alert_id, segment, signal, status, value, baseline, threshold, sample_size, window_days, window_day,
    fired_at, resolved_at, message
FROM journey.alerts_latest
WHERE ({segment:String} = '*' OR segment = {segment:String})
  AND (status = 'firing' OR resolved_at >= now() - INTERVAL 7 DAY)
ORDER BY status = 'firing' DESC, fired_at DESC
LIMIT 100`;

/** The customers at risk behind firing alerts: of the alert's segment, put at risk since its rise began; most valuable first. */
export const AT_RISK_SQL = `
SELECT r.customer_id AS customer_id, r.segment AS segment, r.reasons AS reasons, r.at AS at, r.score AS score, r.comment AS comment,
    r.revenue AS revenue, r.revenue_by_currency AS revenue_by_currency, r.orders AS orders, groupUniqArray(a.signal) AS signals,
    count() OVER () AS total
FROM journey.alerts_latest AS a
INNER JOIN (SELECT * FROM journey.customers_at_risk FINAL) AS r ON r.segment = a.segment
WHERE a.status = 'firing' AND ({segment:String} = '*' OR a.segment = {segment:String})
  AND r.at >= toDateTime64(JSONExtractString(a.details, 'start_day'), 3, 'UTC')
GROUP BY r.customer_id, r.segment, r.reasons, r.at, r.score, r.comment, r.revenue, r.revenue_by_currency, r.orders
ORDER BY r.revenue DESC, r.at DESC
LIMIT 50`;

// -- Rows to panels ------------------------------------------------------------------------------

/** A number as ClickHouse's JSON writes it: quoted 64-bit integers, plain floats and decimals, null for NULL and NaN. */
const numeric = z
  .union([z.number(), z.string().regex(/^-?\d+(\.\d+)?$/), z.null()])
  .transform((value) => (value === null ? null : Number(value)));
const count = numeric.transform((value) => value ?? 0);

const metaRow = z.object({ segment: z.string(), first_day: z.string(), last_day: z.string(), time_zone: z.string() });

export interface Meta {
  /** `*` first, then the segments by name. */
  readonly segments: readonly string[];
  readonly firstDay: string | null;
  readonly lastDay: string | null;
  readonly timeZone: string;
}

export function metaOf(rows: readonly unknown[], fallbackTimeZone: string): Meta {
  const parsed = rows.map((row) => metaRow.parse(row));
  const all = parsed.find((row) => row.segment === '*');
  return {
    segments: parsed.map((row) => row.segment),
    firstDay: all?.first_day ?? null,
    lastDay: all?.last_day ?? null,
    timeZone: all?.time_zone ?? fallbackTimeZone,
  };
}

export interface FunnelStep {
  readonly stage: string;
  /** Customers of the cohort at this stage or past it. */
  readonly reached: number;
  /** Customers of the cohort at this stage now. */
  readonly current: number;
  /** reached ÷ reached of the step before, in %; null for the first step or after an empty one. */
  readonly pctOfPrevious: number | null;
  /** reached ÷ the cohort, in %. */
  readonly pctOfCohort: number | null;
  /** Median time from reaching the step before to reaching this one; null for the first step or when nobody did. */
  readonly medianSecondsFromPrevious: number | null;
}

export interface Funnel {
  readonly customers: number;
  readonly steps: readonly FunnelStep[];
  /** In consideration for longer than stuckAfterDays of event time. */
  readonly stuckInConsideration: number;
  readonly stuckAfterDays: number;
}

const pct = (part: number, whole: number) => (whole === 0 ? null : Math.round((1000 * part) / whole) / 10);

export function funnelOf(row: unknown, stuckAfterDays: number): Funnel {
  const cells = z.record(z.string(), z.unknown()).parse(row);
  const cell = (name: string) => count.parse(cells[name] ?? 0);
  const customers = cell('customers');
  const steps = STAGES.map((stage, i): FunnelStep => {
    const reached = cell(`reached_${String(i + 1)}`);
    const previous = i === 0 ? null : cell(`reached_${String(i)}`);
    return {
      stage,
      reached,
      current: cell(`at_stage_${String(i + 1)}`),
      pctOfPrevious: previous === null ? null : pct(reached, previous),
      pctOfCohort: pct(reached, customers),
      // quantileExactIf over no rows is 0: no median when nobody reached the step.
      medianSecondsFromPrevious: i === 0 || reached === 0 ? null : cell(`median_s_${String(i + 1)}`),
    };
  });
  return { customers, steps, stuckInConsideration: cell('stuck'), stuckAfterDays };
}

const kpiValues = Object.fromEntries(KPI_FIELDS.map((field) => [field, numeric])) as Record<KpiField, typeof numeric>;
const perCurrency = z.record(
  z.string().regex(/^[A-Z]{3}$/),
  numeric.transform((value) => value ?? 0),
);
const kpiRow = z.object({ day: z.string(), ...kpiValues, revenue_by_currency: perCurrency, aov_by_currency: perCurrency });
export type KpiDay = z.infer<typeof kpiRow>;

export function kpisOf(rows: readonly unknown[]): readonly KpiDay[] {
  return rows.map((row) => kpiRow.parse(row));
}

const alertRow = z.object({
  alert_id: z.string(),
  segment: z.string(),
  signal: z.string(),
  status: z.string(),
  value: numeric,
  baseline: numeric,
  threshold: numeric,
  sample_size: count,
  window_days: count,
  window_day: z.string(),
  fired_at: z.string().nullable(),
  resolved_at: z.string().nullable(),
  message: z.string(),
});
export type AlertRow = z.infer<typeof alertRow>;

const atRiskRow = z.object({
  customer_id: z.string(),
  segment: z.string().nullable(),
  reasons: z.array(z.string()),
  at: z.string(),
  score: numeric,
  comment: z.string().nullable(),
  /** All currencies added up: for ordering only; the page shows revenue per currency. */
  revenue: numeric,
  revenue_by_currency: perCurrency,
  orders: count,
  signals: z.array(z.string()),
  total: count,
});
export type AtRiskRow = Omit<z.infer<typeof atRiskRow>, 'total'>;

export interface AlertsPanel {
  readonly alerts: readonly AlertRow[];
  readonly atRisk: readonly AtRiskRow[];
  /** Customers at risk behind the firing alerts, of which `atRisk` is the most valuable 50. */
  readonly atRiskTotal: number;
}

export function alertsOf(alertRows: readonly unknown[], atRiskRows: readonly unknown[]): AlertsPanel {
  const atRisk = atRiskRows.map((row) => atRiskRow.parse(row));
  return {
    alerts: alertRows.map((row) => alertRow.parse(row)),
    atRisk: atRisk.map(({ total: _total, ...rest }) => rest),
    atRiskTotal: atRisk[0]?.total ?? 0,
  };
}
