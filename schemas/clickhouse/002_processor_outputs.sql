-- What the processor publishes. "Latest wins" tables are ReplacingMergeTree versioned by
-- updated_at (the Kafka timestamp of the record the row came from): read them with FINAL or
-- argMax(column, updated_at). kafka_partition and kafka_offset name the record a row came from.

CREATE TABLE IF NOT EXISTS journey.stage_transitions
(
    customer_id  String,
    segment      LowCardinality(Nullable(String)),
    from_stage   LowCardinality(String),
    to_stage     LowCardinality(String),
    at           DateTime64(3, 'UTC'),
    event_id     UUID,
    kafka_partition UInt32,
    kafka_offset    UInt64
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (to_stage, at, customer_id)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS journey.customer_profiles
(
    customer_id        String,
    segment            LowCardinality(Nullable(String)),
    stage              LowCardinality(String),
    stage_since        Nullable(DateTime64(3, 'UTC')),
    first_seen_at      DateTime64(3, 'UTC'),
    last_seen_at       DateTime64(3, 'UTC'),
    page_views         UInt64,
    forms_submitted    UInt64,
    purchases          UInt64,
    revenue            Decimal(38, 4),
    first_purchase_at  Nullable(DateTime64(3, 'UTC')),
    last_nps           Nullable(UInt8),
    last_csat          Nullable(UInt8),
    last_ces           Nullable(UInt8),
    updated_at         DateTime64(3, 'UTC'),
    kafka_partition    UInt32,
    kafka_offset       UInt64
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY customer_id
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS journey.customer_stages
(
    customer_id  String,
    segment      LowCardinality(Nullable(String)),
    stage        LowCardinality(String),
    stage_since  Nullable(DateTime64(3, 'UTC')),
    updated_at   DateTime64(3, 'UTC'),
    kafka_partition UInt32,
    kafka_offset    UInt64
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY customer_id
SETTINGS non_replicated_deduplication_window = 10000;

-- One processor partition's share of a daily window (see schemas/processor-outputs.ts); the
-- shares of all partitions add up to the window. Read through segment_kpis_daily.
CREATE TABLE IF NOT EXISTS journey.segment_kpi_partials
(
    segment                  LowCardinality(String),
    day                      Date,
    time_zone                LowCardinality(String),
    partition                UInt32,
    revision                 UInt64,
    visitors                 Int64,
    sessions                 Int64,
    page_views               Int64,
    time_on_page_ms_sum      Int64,
    timed_page_views         Int64,
    time_on_site_ms_sum      Int64,
    timed_sessions           Int64,
    cta_impressions          Int64,
    cta_clicks               Int64,
    forms_submitted          Int64,
    orders                   Int64,
    revenue                  Decimal(38, 4),
    buyers                   Int64,
    repeat_buyers            Int64,
    purchase_cycle_days_sum  Float64,
    first_purchases          Int64,
    nps_promoters            Int64,
    nps_passives             Int64,
    nps_detractors           Int64,
    csat_sum                 Int64,
    csat_responses           Int64,
    csat_satisfied           Int64,
    ces_sum                  Int64,
    ces_responses            Int64,
    positive_comments        Int64,
    neutral_comments         Int64,
    negative_comments        Int64,
    dormant_customers        Int64,
    transitions_to           Map(LowCardinality(String), Int64),
    stage_counts             Map(LowCardinality(String), Int64),
    updated_at               DateTime64(3, 'UTC'),
    kafka_partition          UInt32,
    kafka_offset             UInt64
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (segment, day, partition)
SETTINGS non_replicated_deduplication_window = 10000;

-- The KPIs per segment and day (day = calendar day in the processor's reporting time zone, UTC
-- by default); segment '*' is all segments together. The formulas match
-- services/processor/rules/kpis.ts (kpisOf), which the end-to-end test holds them to: the same
-- operations in the same order, rounded to 4 places half away from zero (Decimal rounding; float
-- round() would round ties to even).
CREATE VIEW IF NOT EXISTS journey.segment_kpis_daily AS
SELECT
    segment,
    day,
    time_zone,
    toUInt64(s_visitors)                                                  AS visitors,
    toUInt64(s_sessions)                                                  AS sessions,
    toUInt64(s_page_views)                                                AS page_views,
    if(s_sessions = 0, NULL, toFloat64(round(toDecimal128(s_page_views / s_sessions, 10), 4))) AS pages_per_visit,
    if(s_timed_page_views = 0, NULL, toFloat64(round(toDecimal128((s_time_on_page_ms_sum / s_timed_page_views) * 0.001, 10), 4))) AS avg_time_on_page_s,
    if(s_timed_sessions = 0, NULL, toFloat64(round(toDecimal128((s_time_on_site_ms_sum / s_timed_sessions) * 0.001, 10), 4))) AS avg_time_on_site_s,
    toUInt64(s_cta_impressions)                                           AS cta_impressions,
    toUInt64(s_cta_clicks)                                                AS cta_clicks,
    if(s_cta_impressions = 0, NULL, toFloat64(round(toDecimal128((s_cta_clicks / s_cta_impressions) * 100, 10), 4))) AS ctr_pct,
    toUInt64(s_forms_submitted)                                           AS forms_submitted,
    toUInt64(s_orders)                                                    AS orders,
    s_revenue                                                             AS revenue,
    if(s_orders = 0, NULL, round(toDecimal128(s_revenue, 8) / s_orders, 4)) AS aov,
    toUInt64(s_buyers)                                                    AS buyers,
    if(s_visitors = 0, NULL, toFloat64(round(toDecimal128((s_buyers / s_visitors) * 100, 10), 4))) AS conversion_rate_pct,
    if(s_buyers = 0, NULL, toFloat64(round(toDecimal128((s_repeat_buyers / s_buyers) * 100, 10), 4))) AS repeat_purchase_rate_pct,
    if(s_first_purchases = 0, NULL, toFloat64(round(toDecimal128(s_purchase_cycle_days_sum / s_first_purchases, 10), 4))) AS purchase_cycle_days,
    if((s_nps_promoters + s_nps_passives + s_nps_detractors) = 0, NULL, toFloat64(round(toDecimal128(((s_nps_promoters - s_nps_detractors) / (s_nps_promoters + s_nps_passives + s_nps_detractors)) * 100, 10), 4))) AS nps,
    toUInt64(s_nps_promoters + s_nps_passives + s_nps_detractors)         AS nps_responses,
    if(s_csat_responses = 0, NULL, toFloat64(round(toDecimal128(s_csat_sum / s_csat_responses, 10), 4))) AS csat,
    if(s_csat_responses = 0, NULL, toFloat64(round(toDecimal128((s_csat_satisfied / s_csat_responses) * 100, 10), 4))) AS csat_pct,
    toUInt64(s_csat_responses)                                            AS csat_responses,
    if(s_ces_responses = 0, NULL, toFloat64(round(toDecimal128(s_ces_sum / s_ces_responses, 10), 4))) AS ces,
    toUInt64(s_ces_responses)                                             AS ces_responses,
    if((s_positive_comments + s_neutral_comments + s_negative_comments) = 0, NULL, toFloat64(round(toDecimal128((s_positive_comments / (s_positive_comments + s_neutral_comments + s_negative_comments)) * 100, 10), 4))) AS positive_sentiment_pct,
    if((s_positive_comments + s_neutral_comments + s_negative_comments) = 0, NULL, toFloat64(round(toDecimal128((s_negative_comments / (s_positive_comments + s_neutral_comments + s_negative_comments)) * 100, 10), 4))) AS negative_sentiment_pct,
    toUInt64(s_dormant_customers)                                         AS dormant_customers,
    transitions_to,
    stage_counts,
    updated_at
FROM
(
    SELECT
        segment,
        day,
        any(time_zone) AS time_zone,
        sum(visitors) AS s_visitors,
        sum(sessions) AS s_sessions,
        sum(page_views) AS s_page_views,
        sum(time_on_page_ms_sum) AS s_time_on_page_ms_sum,
        sum(timed_page_views) AS s_timed_page_views,
        sum(time_on_site_ms_sum) AS s_time_on_site_ms_sum,
        sum(timed_sessions) AS s_timed_sessions,
        sum(cta_impressions) AS s_cta_impressions,
        sum(cta_clicks) AS s_cta_clicks,
        sum(forms_submitted) AS s_forms_submitted,
        sum(orders) AS s_orders,
        sum(revenue) AS s_revenue,
        sum(buyers) AS s_buyers,
        sum(repeat_buyers) AS s_repeat_buyers,
        sum(purchase_cycle_days_sum) AS s_purchase_cycle_days_sum,
        sum(first_purchases) AS s_first_purchases,
        sum(nps_promoters) AS s_nps_promoters,
        sum(nps_passives) AS s_nps_passives,
        sum(nps_detractors) AS s_nps_detractors,
        sum(csat_sum) AS s_csat_sum,
        sum(csat_responses) AS s_csat_responses,
        sum(csat_satisfied) AS s_csat_satisfied,
        sum(ces_sum) AS s_ces_sum,
        sum(ces_responses) AS s_ces_responses,
        sum(positive_comments) AS s_positive_comments,
        sum(neutral_comments) AS s_neutral_comments,
        sum(negative_comments) AS s_negative_comments,
        sum(dormant_customers) AS s_dormant_customers,
        sumMap(transitions_to) AS transitions_to,
        sumMap(stage_counts) AS stage_counts,
        max(updated_at) AS updated_at
    FROM journey.segment_kpi_partials FINAL
    GROUP BY segment, day
);
