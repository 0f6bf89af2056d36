-- Churn alerts, one row per alert fired (written by the alerting service).
CREATE TABLE IF NOT EXISTS journey.alerts
(
    alert_id     UUID,
    fired_at     DateTime64(3, 'UTC'),
    segment      LowCardinality(String),
    day          Date,
    kind         LowCardinality(String),
    severity     LowCardinality(String),
    metric       LowCardinality(String),
    value        Float64,
    threshold    Float64,
    message      String
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(fired_at)
ORDER BY (segment, kind, fired_at, alert_id)
SETTINGS non_replicated_deduplication_window = 10000;
