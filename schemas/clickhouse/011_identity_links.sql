-- Identity stitching (issue 15). An anonymous visitor becomes a customer when an event carries
-- both ids (or an `identify` event, a new event type by schema evolution): the processor's
-- identity step links them (first customer wins), and the visitor's history merges into the
-- customer's state, so stages, profiles and every KPI count one person (services/processor/
-- identity, services/processor/rules/merge.ts). Rows of `events` keep the ids they were sent
-- with; read events and profiles by person through the views in views.sql (resolved_events,
-- identities, people). One row per decision, from the identity-links topic:
--   linked    the first customer to claim the anonymous id (the identity step);
--   conflict  a later, different customer claiming it (a shared device): never merged, linked_to
--             names the first;
--   merged    the visitor's history merged into the customer (once per link);
--   overflow  not merged: the customer had IDENTITY_MAX_ANONYMOUS_IDS anonymous ids already.
ALTER TABLE journey.events ADD COLUMN IF NOT EXISTS method LowCardinality(Nullable(String)) AFTER quantity;

CREATE TABLE IF NOT EXISTS journey.identity_links
(
    anonymous_id    String,
    customer_id     String,
    status          LowCardinality(String),
    linked_to       Nullable(String),
    at              DateTime64(3, 'UTC'),
    event_id        UUID,
    kafka_partition UInt32,
    kafka_offset    UInt64
)
ENGINE = MergeTree
ORDER BY (anonymous_id, status, customer_id, at)
SETTINGS non_replicated_deduplication_window = 10000;
