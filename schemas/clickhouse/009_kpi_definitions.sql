-- KPI definitions (issue 13). The views stay equal to services/processor/rules/kpis.ts (kpisOf):
--   pages_per_visit and time on site count page views with a session only (session_page_views;
--     time_on_site_ms_sum leaves sessionless views out);
--   conversion_rate_pct = converted_visitors / visitors: visitors of the window who converted in
--     it (CONVERSION_EVENTS), so a buyer who never visited (in store) does not push it past 100 %;
--   in_window_repeat_purchase_rate_pct = buyers with two or more purchases within the window /
--     buyers, beside repeat_purchase_rate_pct (two or more in the customer's whole history);
--   money is never summed across currencies: partials count orders per currency beside revenue per
--     currency (005); segment_kpis gains revenue_by_currency, orders_by_currency and
--     aov_by_currency, and its revenue and aov are NULL for a window that sold in several;
--   CSAT on 5, 7 or 10 points and CES on 5 or 7, as effort or as agreement (events gain `scale`
--     and `ces_form`, Avro fields with defaults: events written before read as 5-point effort) are
--     averaged mapped onto 1–5 (kpis.ts, onFivePoints), so partials sum them in thousandths of a
--     point (csat_sum_milli, ces_sum_milli);
--   unscored_comments (008): comments in a language the sentiment model cannot read, in no share;
--   reviews, a new event type (1–5 stars, text, where it was written; a new Avro union branch and
--     event-type symbol, BACKWARD): events gain `rating` and `source` (the text is `comment`, read
--     for sentiment), partials count reviews, stars, 1–2-star reviews and texts by sentiment, and
--     segment_kpis gains reviews, avg_review_rating, low_rated_review_pct, negative_review_pct;
--   referral_source ("how did you hear about us", a sign-up field or a survey answer): on events,
--     and on profiles as the customer's earliest answer, for the share of new customers per source.
-- Rows written before this migration lack the new columns (NULL): the views read them as they were
-- meant (page views for session page views; buyers, at most the visitors, for converted visitors;
-- CSAT and CES sums in points); the in-window rate is NULL and there is no per-currency AOV where no
-- row knows them.
ALTER TABLE journey.segment_kpi_partials ADD COLUMN IF NOT EXISTS session_page_views Nullable(Int64) AFTER page_views;
ALTER TABLE journey.segment_kpi_partials ADD COLUMN IF NOT EXISTS converted_visitors Nullable(Int64) AFTER buyers;
ALTER TABLE journey.segment_kpi_partials ADD COLUMN IF NOT EXISTS window_repeat_buyers Nullable(Int64) AFTER repeat_buyers;
ALTER TABLE journey.segment_kpi_partials ADD COLUMN IF NOT EXISTS converted_visitors_7d Nullable(Int64);
ALTER TABLE journey.segment_kpi_partials ADD COLUMN IF NOT EXISTS window_repeat_buyers_7d Nullable(Int64);
ALTER TABLE journey.segment_kpi_partials ADD COLUMN IF NOT EXISTS converted_visitors_30d Nullable(Int64);
ALTER TABLE journey.segment_kpi_partials ADD COLUMN IF NOT EXISTS window_repeat_buyers_30d Nullable(Int64);
ALTER TABLE journey.segment_kpi_partials ADD COLUMN IF NOT EXISTS orders_by_currency Map(LowCardinality(String), Int64) AFTER revenue_by_currency;
ALTER TABLE journey.events ADD COLUMN IF NOT EXISTS scale Nullable(UInt8) AFTER score;
ALTER TABLE journey.events ADD COLUMN IF NOT EXISTS ces_form LowCardinality(Nullable(String)) AFTER scale;
ALTER TABLE journey.segment_kpi_partials ADD COLUMN IF NOT EXISTS csat_sum_milli Nullable(Int64) AFTER csat_sum;
ALTER TABLE journey.segment_kpi_partials ADD COLUMN IF NOT EXISTS ces_sum_milli Nullable(Int64) AFTER ces_sum;
ALTER TABLE journey.events ADD COLUMN IF NOT EXISTS rating Nullable(UInt8) AFTER ces_form;
ALTER TABLE journey.events ADD COLUMN IF NOT EXISTS source LowCardinality(Nullable(String)) AFTER rating;
ALTER TABLE journey.segment_kpi_partials ADD COLUMN IF NOT EXISTS reviews Int64 DEFAULT 0;
ALTER TABLE journey.segment_kpi_partials ADD COLUMN IF NOT EXISTS review_stars_sum Int64 DEFAULT 0;
ALTER TABLE journey.segment_kpi_partials ADD COLUMN IF NOT EXISTS low_rated_reviews Int64 DEFAULT 0;
ALTER TABLE journey.segment_kpi_partials ADD COLUMN IF NOT EXISTS positive_reviews Int64 DEFAULT 0;
ALTER TABLE journey.segment_kpi_partials ADD COLUMN IF NOT EXISTS neutral_reviews Int64 DEFAULT 0;
ALTER TABLE journey.segment_kpi_partials ADD COLUMN IF NOT EXISTS negative_reviews Int64 DEFAULT 0;
ALTER TABLE journey.events ADD COLUMN IF NOT EXISTS referral_source LowCardinality(Nullable(String)) AFTER form_type;
ALTER TABLE journey.customer_profiles ADD COLUMN IF NOT EXISTS referral_source LowCardinality(Nullable(String));

CREATE OR REPLACE VIEW journey.segment_kpi_counts_daily AS
SELECT
    segment,
    day,
    any(time_zone) AS time_zone,
    sum(visitors) AS c_visitors,
    sum(sessions) AS c_sessions,
    sum(timed_sessions) AS c_timed_sessions,
    sum(buyers) AS c_buyers,
    -- Before 009: buyers, at most the visitors (the conversion rate as it was, capped at 100 %).
    sum(ifNull(converted_visitors, least(buyers, visitors))) AS c_converted_visitors,
    sum(window_repeat_buyers) AS c_window_repeat_buyers,
    sum(repeat_buyers) AS c_repeat_buyers,
    sum(page_views) AS c_page_views,
    -- Rows written before 009 have no session_page_views: their page views count, as they did.
    sum(ifNull(session_page_views, page_views)) AS c_session_page_views,
    sum(time_on_page_ms_sum) AS c_time_on_page_ms_sum,
    sum(timed_page_views) AS c_timed_page_views,
    sum(time_on_site_ms_sum) AS c_time_on_site_ms_sum,
    sum(cta_impressions) AS c_cta_impressions,
    sum(cta_clicks) AS c_cta_clicks,
    sum(forms_submitted) AS c_forms_submitted,
    sum(orders) AS c_orders,
    sum(revenue) AS c_revenue,
    sum(purchase_cycle_days_sum) AS c_purchase_cycle_days_sum,
    sum(first_purchases) AS c_first_purchases,
    sum(nps_promoters) AS c_nps_promoters,
    sum(nps_passives) AS c_nps_passives,
    sum(nps_detractors) AS c_nps_detractors,
    -- Rows written before 011 have their sums in points (all on 5).
    sum(ifNull(csat_sum_milli, csat_sum * 1000)) AS c_csat_sum_milli,
    sum(csat_responses) AS c_csat_responses,
    sum(csat_satisfied) AS c_csat_satisfied,
    sum(ifNull(ces_sum_milli, ces_sum * 1000)) AS c_ces_sum_milli,
    sum(ces_responses) AS c_ces_responses,
    sum(positive_comments) AS c_positive_comments,
    sum(neutral_comments) AS c_neutral_comments,
    sum(negative_comments) AS c_negative_comments,
    sum(unscored_comments) AS c_unscored_comments,
    sum(reviews) AS c_reviews,
    sum(review_stars_sum) AS c_review_stars_sum,
    sum(low_rated_reviews) AS c_low_rated_reviews,
    sum(positive_reviews) AS c_positive_reviews,
    sum(neutral_reviews) AS c_neutral_reviews,
    sum(negative_reviews) AS c_negative_reviews,
    sum(dormant_customers) AS c_dormant_customers,
    sum(newly_dormant_customers) AS c_newly_dormant_customers,
    sum(returning_visitors_1d) AS c_returning_visitors_1d,
    sum(previous_visitors_1d) AS c_previous_visitors_1d,
    sum(returning_visitors_7d) AS c_returning_visitors_7d,
    sum(previous_visitors_7d) AS c_previous_visitors_7d,
    sum(returning_visitors_30d) AS c_returning_visitors_30d,
    sum(previous_visitors_30d) AS c_previous_visitors_30d,
    sum(visitors_7d) AS c_visitors_7d,
    sum(sessions_7d) AS c_sessions_7d,
    sum(timed_sessions_7d) AS c_timed_sessions_7d,
    sum(buyers_7d) AS c_buyers_7d,
    sum(repeat_buyers_7d) AS c_repeat_buyers_7d,
    sum(ifNull(converted_visitors_7d, least(buyers_7d, visitors_7d))) AS c_converted_visitors_7d,
    sum(window_repeat_buyers_7d) AS c_window_repeat_buyers_7d,
    sum(visitors_30d) AS c_visitors_30d,
    sum(sessions_30d) AS c_sessions_30d,
    sum(timed_sessions_30d) AS c_timed_sessions_30d,
    sum(buyers_30d) AS c_buyers_30d,
    sum(repeat_buyers_30d) AS c_repeat_buyers_30d,
    sum(ifNull(converted_visitors_30d, least(buyers_30d, visitors_30d))) AS c_converted_visitors_30d,
    sum(window_repeat_buyers_30d) AS c_window_repeat_buyers_30d,
    sumMap(transitions_to) AS c_transitions_to,
    sumMap(stage_counts) AS c_stage_counts,
    sumMap(revenue_by_currency) AS c_revenue_by_currency,
    sumMap(orders_by_currency) AS c_orders_by_currency,
    max(updated_at) AS c_updated_at
FROM journey.segment_kpi_partials FINAL
GROUP BY segment, day
-- A day only some partitions' rolling views reach ahead to is not a day yet.
HAVING max(day_reached);

-- Counts per window: the day itself, and the 7 and 30 days ending on it (sums over the days in
-- range, distinct counts from the processor; stage counts and dormancy as of the end day).
CREATE OR REPLACE VIEW journey.segment_kpi_counts AS
WITH windowed AS
(
    SELECT
        *,
        sum(c_page_views) OVER w7 AS s7_page_views,
        sum(c_session_page_views) OVER w7 AS s7_session_page_views,
        sum(c_unscored_comments) OVER w7 AS s7_unscored_comments,
        sum(c_reviews) OVER w7 AS s7_reviews,
        sum(c_review_stars_sum) OVER w7 AS s7_review_stars_sum,
        sum(c_low_rated_reviews) OVER w7 AS s7_low_rated_reviews,
        sum(c_positive_reviews) OVER w7 AS s7_positive_reviews,
        sum(c_neutral_reviews) OVER w7 AS s7_neutral_reviews,
        sum(c_negative_reviews) OVER w7 AS s7_negative_reviews,
        sum(c_time_on_page_ms_sum) OVER w7 AS s7_time_on_page_ms_sum,
        sum(c_timed_page_views) OVER w7 AS s7_timed_page_views,
        sum(c_time_on_site_ms_sum) OVER w7 AS s7_time_on_site_ms_sum,
        sum(c_cta_impressions) OVER w7 AS s7_cta_impressions,
        sum(c_cta_clicks) OVER w7 AS s7_cta_clicks,
        sum(c_forms_submitted) OVER w7 AS s7_forms_submitted,
        sum(c_orders) OVER w7 AS s7_orders,
        sum(c_revenue) OVER w7 AS s7_revenue,
        sum(c_purchase_cycle_days_sum) OVER w7 AS s7_purchase_cycle_days_sum,
        sum(c_first_purchases) OVER w7 AS s7_first_purchases,
        sum(c_nps_promoters) OVER w7 AS s7_nps_promoters,
        sum(c_nps_passives) OVER w7 AS s7_nps_passives,
        sum(c_nps_detractors) OVER w7 AS s7_nps_detractors,
        sum(c_csat_sum_milli) OVER w7 AS s7_csat_sum_milli,
        sum(c_csat_responses) OVER w7 AS s7_csat_responses,
        sum(c_csat_satisfied) OVER w7 AS s7_csat_satisfied,
        sum(c_ces_sum_milli) OVER w7 AS s7_ces_sum_milli,
        sum(c_ces_responses) OVER w7 AS s7_ces_responses,
        sum(c_positive_comments) OVER w7 AS s7_positive_comments,
        sum(c_neutral_comments) OVER w7 AS s7_neutral_comments,
        sum(c_negative_comments) OVER w7 AS s7_negative_comments,
        sum(c_page_views) OVER w30 AS s30_page_views,
        sum(c_session_page_views) OVER w30 AS s30_session_page_views,
        sum(c_unscored_comments) OVER w30 AS s30_unscored_comments,
        sum(c_reviews) OVER w30 AS s30_reviews,
        sum(c_review_stars_sum) OVER w30 AS s30_review_stars_sum,
        sum(c_low_rated_reviews) OVER w30 AS s30_low_rated_reviews,
        sum(c_positive_reviews) OVER w30 AS s30_positive_reviews,
        sum(c_neutral_reviews) OVER w30 AS s30_neutral_reviews,
        sum(c_negative_reviews) OVER w30 AS s30_negative_reviews,
        sum(c_time_on_page_ms_sum) OVER w30 AS s30_time_on_page_ms_sum,
        sum(c_timed_page_views) OVER w30 AS s30_timed_page_views,
        sum(c_time_on_site_ms_sum) OVER w30 AS s30_time_on_site_ms_sum,
        sum(c_cta_impressions) OVER w30 AS s30_cta_impressions,
        sum(c_cta_clicks) OVER w30 AS s30_cta_clicks,
        sum(c_forms_submitted) OVER w30 AS s30_forms_submitted,
        sum(c_orders) OVER w30 AS s30_orders,
        sum(c_revenue) OVER w30 AS s30_revenue,
        sum(c_purchase_cycle_days_sum) OVER w30 AS s30_purchase_cycle_days_sum,
        sum(c_first_purchases) OVER w30 AS s30_first_purchases,
        sum(c_nps_promoters) OVER w30 AS s30_nps_promoters,
        sum(c_nps_passives) OVER w30 AS s30_nps_passives,
        sum(c_nps_detractors) OVER w30 AS s30_nps_detractors,
        sum(c_csat_sum_milli) OVER w30 AS s30_csat_sum_milli,
        sum(c_csat_responses) OVER w30 AS s30_csat_responses,
        sum(c_csat_satisfied) OVER w30 AS s30_csat_satisfied,
        sum(c_ces_sum_milli) OVER w30 AS s30_ces_sum_milli,
        sum(c_ces_responses) OVER w30 AS s30_ces_responses,
        sum(c_positive_comments) OVER w30 AS s30_positive_comments,
        sum(c_neutral_comments) OVER w30 AS s30_neutral_comments,
        sum(c_negative_comments) OVER w30 AS s30_negative_comments,
        sum(c_newly_dormant_customers) OVER w7 AS s7_newly_dormant_customers,
        sum(c_newly_dormant_customers) OVER w30 AS s30_newly_dormant_customers,
        sumMap(c_transitions_to) OVER w7 AS s7_transitions_to,
        sumMap(c_transitions_to) OVER w30 AS s30_transitions_to,
        sumMap(c_revenue_by_currency) OVER w7 AS s7_revenue_by_currency,
        sumMap(c_orders_by_currency) OVER w7 AS s7_orders_by_currency,
        sumMap(c_revenue_by_currency) OVER w30 AS s30_revenue_by_currency,
        sumMap(c_orders_by_currency) OVER w30 AS s30_orders_by_currency
    FROM journey.segment_kpi_counts_daily
    WINDOW
        w7 AS (PARTITION BY segment ORDER BY toUInt32(day) RANGE BETWEEN 6 PRECEDING AND CURRENT ROW),
        w30 AS (PARTITION BY segment ORDER BY toUInt32(day) RANGE BETWEEN 29 PRECEDING AND CURRENT ROW)
)
SELECT
    segment, day, time_zone, toUInt8(window_days) AS window_days,
    tupleElement(picked, 1) AS visitors,
    tupleElement(picked, 2) AS sessions,
    tupleElement(picked, 3) AS timed_sessions,
    tupleElement(picked, 4) AS buyers,
    tupleElement(picked, 5) AS repeat_buyers,
    tupleElement(picked, 6) AS page_views,
    tupleElement(picked, 7) AS time_on_page_ms_sum,
    tupleElement(picked, 8) AS timed_page_views,
    tupleElement(picked, 9) AS time_on_site_ms_sum,
    tupleElement(picked, 10) AS cta_impressions,
    tupleElement(picked, 11) AS cta_clicks,
    tupleElement(picked, 12) AS forms_submitted,
    tupleElement(picked, 13) AS orders,
    tupleElement(picked, 14) AS revenue,
    tupleElement(picked, 15) AS purchase_cycle_days_sum,
    tupleElement(picked, 16) AS first_purchases,
    tupleElement(picked, 17) AS nps_promoters,
    tupleElement(picked, 18) AS nps_passives,
    tupleElement(picked, 19) AS nps_detractors,
    tupleElement(picked, 20) AS csat_sum_milli,
    tupleElement(picked, 21) AS csat_responses,
    tupleElement(picked, 22) AS csat_satisfied,
    tupleElement(picked, 23) AS ces_sum_milli,
    tupleElement(picked, 24) AS ces_responses,
    tupleElement(picked, 25) AS positive_comments,
    tupleElement(picked, 26) AS neutral_comments,
    tupleElement(picked, 27) AS negative_comments,
    tupleElement(picked, 28) AS dormant_customers,
    tupleElement(picked, 29) AS transitions_to,
    tupleElement(picked, 30) AS newly_dormant_customers,
    tupleElement(picked, 31) AS returning_visitors,
    tupleElement(picked, 32) AS previous_visitors,
    tupleElement(picked, 33) AS session_page_views,
    tupleElement(picked, 34) AS converted_visitors,
    tupleElement(picked, 35) AS window_repeat_buyers,
    tupleElement(picked, 36) AS unscored_comments,
    tupleElement(picked, 37) AS revenue_by_currency,
    tupleElement(picked, 38) AS orders_by_currency,
    tupleElement(picked, 39) AS reviews,
    tupleElement(picked, 40) AS review_stars_sum,
    tupleElement(picked, 41) AS low_rated_reviews,
    tupleElement(picked, 42) AS positive_reviews,
    tupleElement(picked, 43) AS neutral_reviews,
    tupleElement(picked, 44) AS negative_reviews,
    c_stage_counts AS stage_counts,
    c_updated_at AS updated_at
FROM windowed
ARRAY JOIN [1, 7, 30] AS window_days
ARRAY JOIN [multiIf(
    window_days = 1, (c_visitors, c_sessions, c_timed_sessions, c_buyers, c_repeat_buyers, c_page_views, c_time_on_page_ms_sum, c_timed_page_views, c_time_on_site_ms_sum, c_cta_impressions, c_cta_clicks, c_forms_submitted, c_orders, c_revenue, c_purchase_cycle_days_sum, c_first_purchases, c_nps_promoters, c_nps_passives, c_nps_detractors, c_csat_sum_milli, c_csat_responses, c_csat_satisfied, c_ces_sum_milli, c_ces_responses, c_positive_comments, c_neutral_comments, c_negative_comments, c_dormant_customers, c_transitions_to, c_newly_dormant_customers, c_returning_visitors_1d, c_previous_visitors_1d, c_session_page_views, c_converted_visitors, c_window_repeat_buyers, c_unscored_comments, c_revenue_by_currency, c_orders_by_currency, c_reviews, c_review_stars_sum, c_low_rated_reviews, c_positive_reviews, c_neutral_reviews, c_negative_reviews),
    window_days = 7, (c_visitors_7d, c_sessions_7d, c_timed_sessions_7d, c_buyers_7d, c_repeat_buyers_7d, s7_page_views, s7_time_on_page_ms_sum, s7_timed_page_views, s7_time_on_site_ms_sum, s7_cta_impressions, s7_cta_clicks, s7_forms_submitted, s7_orders, s7_revenue, s7_purchase_cycle_days_sum, s7_first_purchases, s7_nps_promoters, s7_nps_passives, s7_nps_detractors, s7_csat_sum_milli, s7_csat_responses, s7_csat_satisfied, s7_ces_sum_milli, s7_ces_responses, s7_positive_comments, s7_neutral_comments, s7_negative_comments, c_dormant_customers, s7_transitions_to, s7_newly_dormant_customers, c_returning_visitors_7d, c_previous_visitors_7d, s7_session_page_views, c_converted_visitors_7d, c_window_repeat_buyers_7d, s7_unscored_comments, s7_revenue_by_currency, s7_orders_by_currency, s7_reviews, s7_review_stars_sum, s7_low_rated_reviews, s7_positive_reviews, s7_neutral_reviews, s7_negative_reviews),
    (c_visitors_30d, c_sessions_30d, c_timed_sessions_30d, c_buyers_30d, c_repeat_buyers_30d, s30_page_views, s30_time_on_page_ms_sum, s30_timed_page_views, s30_time_on_site_ms_sum, s30_cta_impressions, s30_cta_clicks, s30_forms_submitted, s30_orders, s30_revenue, s30_purchase_cycle_days_sum, s30_first_purchases, s30_nps_promoters, s30_nps_passives, s30_nps_detractors, s30_csat_sum_milli, s30_csat_responses, s30_csat_satisfied, s30_ces_sum_milli, s30_ces_responses, s30_positive_comments, s30_neutral_comments, s30_negative_comments, c_dormant_customers, s30_transitions_to, s30_newly_dormant_customers, c_returning_visitors_30d, c_previous_visitors_30d, s30_session_page_views, c_converted_visitors_30d, c_window_repeat_buyers_30d, s30_unscored_comments, s30_revenue_by_currency, s30_orders_by_currency, s30_reviews, s30_review_stars_sum, s30_low_rated_reviews, s30_positive_reviews, s30_neutral_reviews, s30_negative_reviews))] AS picked;

CREATE OR REPLACE VIEW journey.segment_kpis AS
SELECT
    segment,
    day,
    window_days,
    time_zone,
    toUInt64(visitors) AS visitors,
    toUInt64(sessions) AS sessions,
    toUInt64(page_views) AS page_views,
    if(sessions = 0, NULL, toFloat64(round(toDecimal128(session_page_views / sessions, 10), 4))) AS pages_per_visit,
    if(timed_page_views = 0, NULL, toFloat64(round(toDecimal128((time_on_page_ms_sum / timed_page_views) * 0.001, 10), 4))) AS avg_time_on_page_s,
    if(timed_sessions = 0, NULL, toFloat64(round(toDecimal128((time_on_site_ms_sum / timed_sessions) * 0.001, 10), 4))) AS avg_time_on_site_s,
    toUInt64(cta_impressions) AS cta_impressions,
    toUInt64(cta_clicks) AS cta_clicks,
    if(cta_impressions = 0, NULL, toFloat64(round(toDecimal128((cta_clicks / cta_impressions) * 100, 10), 4))) AS ctr_pct,
    toUInt64(forms_submitted) AS forms_submitted,
    toUInt64(orders) AS orders,
    -- One figure only when the window sold in one currency (or predates the per-currency maps).
    if(length(revenue_by_currency) > 1, NULL, revenue) AS revenue,
    if(orders = 0 OR length(revenue_by_currency) > 1, NULL, round(toDecimal128(revenue, 8) / orders, 4)) AS aov,
    revenue_by_currency,
    orders_by_currency,
    mapApply(
        (currency, total) -> (currency, round(toDecimal128(total, 8) / orders_by_currency[currency], 4)),
        mapFilter((currency, total) -> orders_by_currency[currency] > 0, revenue_by_currency)
    ) AS aov_by_currency,
    toUInt64(buyers) AS buyers,
    toUInt64(converted_visitors) AS converted_visitors,
    if(visitors = 0, NULL, toFloat64(round(toDecimal128((converted_visitors / visitors) * 100, 10), 4))) AS conversion_rate_pct,
    if(buyers = 0, NULL, toFloat64(round(toDecimal128((repeat_buyers / buyers) * 100, 10), 4))) AS repeat_purchase_rate_pct,
    if(buyers = 0 OR window_repeat_buyers IS NULL, NULL, toFloat64(round(toDecimal128((assumeNotNull(window_repeat_buyers) / buyers) * 100, 10), 4))) AS in_window_repeat_purchase_rate_pct,
    if(first_purchases = 0, NULL, toFloat64(round(toDecimal128(purchase_cycle_days_sum / first_purchases, 10), 4))) AS purchase_cycle_days,
    if((nps_promoters + nps_passives + nps_detractors) = 0, NULL, toFloat64(round(toDecimal128(((nps_promoters - nps_detractors) / (nps_promoters + nps_passives + nps_detractors)) * 100, 10), 4))) AS nps,
    toUInt64((nps_promoters + nps_passives + nps_detractors)) AS nps_responses,
    if(csat_responses = 0, NULL, toFloat64(round(toDecimal128((csat_sum_milli * 0.001) / csat_responses, 10), 4))) AS csat,
    if(csat_responses = 0, NULL, toFloat64(round(toDecimal128((csat_satisfied / csat_responses) * 100, 10), 4))) AS csat_pct,
    toUInt64(csat_responses) AS csat_responses,
    if(ces_responses = 0, NULL, toFloat64(round(toDecimal128((ces_sum_milli * 0.001) / ces_responses, 10), 4))) AS ces,
    toUInt64(ces_responses) AS ces_responses,
    if((positive_comments + neutral_comments + negative_comments) = 0, NULL, toFloat64(round(toDecimal128((positive_comments / (positive_comments + neutral_comments + negative_comments)) * 100, 10), 4))) AS positive_sentiment_pct,
    if((positive_comments + neutral_comments + negative_comments) = 0, NULL, toFloat64(round(toDecimal128((negative_comments / (positive_comments + neutral_comments + negative_comments)) * 100, 10), 4))) AS negative_sentiment_pct,
    toUInt64(unscored_comments) AS unscored_comments,
    toUInt64(reviews) AS reviews,
    if(reviews = 0, NULL, toFloat64(round(toDecimal128(review_stars_sum / reviews, 10), 4))) AS avg_review_rating,
    if(reviews = 0, NULL, toFloat64(round(toDecimal128((low_rated_reviews / reviews) * 100, 10), 4))) AS low_rated_review_pct,
    if((positive_reviews + neutral_reviews + negative_reviews) = 0, NULL, toFloat64(round(toDecimal128((negative_reviews / (positive_reviews + neutral_reviews + negative_reviews)) * 100, 10), 4))) AS negative_review_pct,
    toUInt64(dormant_customers) AS dormant_customers,
    toUInt64(newly_dormant_customers) AS churned_customers,
    if((stage_counts['conversion'] + stage_counts['ongoing_engagement'] - dormant_customers + newly_dormant_customers) = 0, NULL, toFloat64(round(toDecimal128((newly_dormant_customers / (stage_counts['conversion'] + stage_counts['ongoing_engagement'] - dormant_customers + newly_dormant_customers)) * 100, 10), 4))) AS churn_rate_pct,
    toUInt64(returning_visitors) AS returning_visitors,
    toUInt64(previous_visitors) AS previous_visitors,
    if(previous_visitors = 0, NULL, toFloat64(round(toDecimal128((returning_visitors / previous_visitors) * 100, 10), 4))) AS retention_rate_pct,
    transitions_to,
    stage_counts,
    updated_at
FROM journey.segment_kpi_counts;

DROP VIEW IF EXISTS journey.segment_kpis_daily;

CREATE VIEW journey.segment_kpis_daily AS
SELECT * EXCEPT (window_days)
FROM journey.segment_kpis
WHERE window_days = 1;
