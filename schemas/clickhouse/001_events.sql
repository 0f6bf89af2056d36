-- Every accepted event, one row per event_id. Exactly-once inserts (sink dedup tokens) keep
-- replays out; an event a backend sent twice (same event_id) is folded by ReplacingMergeTree on
-- merge, so exact counts read `FROM journey.events FINAL`.
CREATE DATABASE IF NOT EXISTS journey;

CREATE TABLE IF NOT EXISTS journey.events
(
    event_id      UUID,
    type          LowCardinality(String),
    occurred_at   DateTime64(3, 'UTC'),
    received_at   DateTime64(3, 'UTC'),
    customer_id   Nullable(String),
    anonymous_id  Nullable(String),
    session_id    Nullable(String),
    segment       LowCardinality(Nullable(String)),
    channel       LowCardinality(Nullable(String)),
    -- page_view
    url           Nullable(String),
    page_type     LowCardinality(Nullable(String)),
    referrer      Nullable(String),
    duration_ms   Nullable(UInt32),
    cta_shown     Nullable(Bool),
    cta_clicked   Nullable(Bool),
    -- form_submission
    form_id       Nullable(String),
    form_type     LowCardinality(Nullable(String)),
    -- purchase
    order_id      Nullable(String),
    amount        Nullable(Decimal(18, 4)),
    currency      LowCardinality(Nullable(String)),
    items         Nullable(UInt32),
    -- survey_response
    survey_type   LowCardinality(Nullable(String)),
    score         Nullable(UInt8),
    comment       Nullable(String),
    -- where the row came from, for lineage and replay checks
    kafka_partition UInt32,
    kafka_offset    UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (type, toDate(occurred_at), event_id)
SETTINGS non_replicated_deduplication_window = 10000;
