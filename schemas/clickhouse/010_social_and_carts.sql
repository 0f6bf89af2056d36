-- Social engagement and carts (issue 13), two event types added by schema evolution (new Avro
-- union branches and event-type symbols, BACKWARD):
--   social_engagement: `action` (like, share, comment, video_view, reply), `network` (a closed
--     list: SOCIAL_NETWORKS in schemas/event-contract.ts), `post_id`, and the text of a comment or
--     reply in `comment` (read for sentiment like survey comments);
--   cart: `action` (add_to_cart, remove_from_cart, checkout_started), `cart_id`, `product_id`,
--     `quantity`. A checkout starts with checkout_started or a view of a checkout page and is
--     abandoned without a purchase within CHECKOUT_ABANDONED_AFTER_MIN
--     (services/processor/rules/checkouts.ts).
-- Partials count them per segment and day; the KPI views (views.sql) read these columns. Partials
-- written before this migration read 0 for all of them.
ALTER TABLE journey.events ADD COLUMN IF NOT EXISTS action LowCardinality(Nullable(String)) AFTER source;
ALTER TABLE journey.events ADD COLUMN IF NOT EXISTS network LowCardinality(Nullable(String)) AFTER action;
ALTER TABLE journey.events ADD COLUMN IF NOT EXISTS post_id Nullable(String) AFTER network;
ALTER TABLE journey.events ADD COLUMN IF NOT EXISTS cart_id Nullable(String) AFTER post_id;
ALTER TABLE journey.events ADD COLUMN IF NOT EXISTS product_id Nullable(String) AFTER cart_id;
ALTER TABLE journey.events ADD COLUMN IF NOT EXISTS quantity Nullable(UInt32) AFTER product_id;
ALTER TABLE journey.segment_kpi_partials ADD COLUMN IF NOT EXISTS social_likes Int64 DEFAULT 0;
ALTER TABLE journey.segment_kpi_partials ADD COLUMN IF NOT EXISTS social_shares Int64 DEFAULT 0;
ALTER TABLE journey.segment_kpi_partials ADD COLUMN IF NOT EXISTS social_comments Int64 DEFAULT 0;
ALTER TABLE journey.segment_kpi_partials ADD COLUMN IF NOT EXISTS social_video_views Int64 DEFAULT 0;
ALTER TABLE journey.segment_kpi_partials ADD COLUMN IF NOT EXISTS social_replies Int64 DEFAULT 0;
ALTER TABLE journey.segment_kpi_partials ADD COLUMN IF NOT EXISTS positive_social_comments Int64 DEFAULT 0;
ALTER TABLE journey.segment_kpi_partials ADD COLUMN IF NOT EXISTS neutral_social_comments Int64 DEFAULT 0;
ALTER TABLE journey.segment_kpi_partials ADD COLUMN IF NOT EXISTS negative_social_comments Int64 DEFAULT 0;
ALTER TABLE journey.segment_kpi_partials ADD COLUMN IF NOT EXISTS social_by_network Map(LowCardinality(String), Int64);
ALTER TABLE journey.segment_kpi_partials ADD COLUMN IF NOT EXISTS cart_adds Int64 DEFAULT 0;
ALTER TABLE journey.segment_kpi_partials ADD COLUMN IF NOT EXISTS cart_removals Int64 DEFAULT 0;
ALTER TABLE journey.segment_kpi_partials ADD COLUMN IF NOT EXISTS checkouts_started Int64 DEFAULT 0;
ALTER TABLE journey.segment_kpi_partials ADD COLUMN IF NOT EXISTS checkouts_completed Int64 DEFAULT 0;
