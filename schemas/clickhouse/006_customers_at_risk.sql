-- Converted customers a survey put at risk (an NPS detractor, CSAT of 2 or less, CES of 4 or more,
-- a negative comment) or who went dormant (no survey then: event_id, survey_type, score and comment
-- are NULL), with what they are worth. One row per record from the customers-at-risk
-- topic; the latest by event time is the customer's current risk: read with FINAL.
CREATE TABLE IF NOT EXISTS journey.customers_at_risk
(
    customer_id          String,
    segment              LowCardinality(Nullable(String)),
    stage                LowCardinality(String),
    reasons              Array(LowCardinality(String)),
    at                   DateTime64(3, 'UTC'),
    event_id             Nullable(UUID),
    survey_type          LowCardinality(Nullable(String)),
    score                Nullable(UInt8),
    comment              Nullable(String),
    revenue              Decimal(38, 4),
    revenue_by_currency  Map(LowCardinality(String), Decimal(38, 4)),
    orders               UInt64,
    kafka_partition      UInt32,
    kafka_offset         UInt64
)
ENGINE = ReplacingMergeTree(at)
ORDER BY customer_id
SETTINGS non_replicated_deduplication_window = 10000;
