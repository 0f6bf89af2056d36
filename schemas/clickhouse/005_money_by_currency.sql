-- Money per currency. `revenue` adds up amounts whatever their currency (EUR 100 + JPY 15,000 is
-- not a number anyone can use), so these columns keep each ISO 4217 currency apart. Rows written
-- before this migration have an empty map.
ALTER TABLE journey.segment_kpi_partials ADD COLUMN IF NOT EXISTS revenue_by_currency Map(LowCardinality(String), Decimal(38, 4)) AFTER revenue;
ALTER TABLE journey.customer_profiles ADD COLUMN IF NOT EXISTS revenue_by_currency Map(LowCardinality(String), Decimal(38, 4)) AFTER revenue;
