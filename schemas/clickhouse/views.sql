-- The KPI views, defined once. Unlike the numbered migrations, this file is edited in place: the
-- runner applies it after every numbered migration, again whenever its text changes (a new
-- checksum), so a change to a KPI is a change here and the columns it reads come from a numbered
-- migration. Every statement is CREATE OR REPLACE, so applying it twice, or from two processes at
-- once, leaves the same views.
--
-- The formulas stay equal to services/processor/rules/kpis.ts (kpisOf), which the end-to-end test
-- holds them to: the same operations in the same order, rounded to 4 places half away from zero
-- (Decimal rounding; float round() would round ties to even). What each KPI means:
-- docs/analysts.md, "Every KPI, defined". Partials written before a counter existed read as they
-- were meant (comments below), and counters added as `Int64 DEFAULT 0` read 0.

-- Identity stitching (011_identity_links.sql): the customer each linked anonymous id is, the first
-- to claim it (the identity step writes one `linked` row per anonymous id).
CREATE OR REPLACE VIEW journey.identities AS
SELECT anonymous_id, argMin(customer_id, (at, kafka_partition, kafka_offset)) AS customer_id, min(at) AS linked_at
FROM journey.identity_links
WHERE status = 'linked'
GROUP BY anonymous_id;

-- Every event with the person it belongs to: its own customer, else the customer its anonymous id
-- is linked to, else the visitor (`anon:<id>`), as the processor counted it.
CREATE OR REPLACE VIEW journey.resolved_events AS
SELECT
    e.*,
    coalesce(e.customer_id, nullIf(i.customer_id, ''), concat('anon:', ifNull(e.anonymous_id, ''))) AS person
FROM journey.events AS e FINAL
LEFT JOIN journey.identities AS i ON i.anonymous_id = e.anonymous_id;

-- Anonymous visitors whose history merged into a customer: their profile rows are the customer's now.
CREATE OR REPLACE VIEW journey.merged_visitors AS
SELECT DISTINCT concat('anon:', anonymous_id) AS customer_id, customer_id AS merged_into
FROM journey.identity_links
WHERE status = 'merged';

-- The latest profile of each person: customer_profiles without the visitors merged into a customer.
CREATE OR REPLACE VIEW journey.people AS
SELECT *
FROM journey.customer_profiles FINAL
WHERE customer_id NOT IN (SELECT customer_id FROM journey.merged_visitors);

-- The current stage of each person, as journey.people.
CREATE OR REPLACE VIEW journey.people_stages AS
SELECT *
FROM journey.customer_stages FINAL
WHERE customer_id NOT IN (SELECT customer_id FROM journey.merged_visitors);

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
    -- Rows written before 009 have their sums in points (all on 5).
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
    sum(social_likes) AS c_social_likes,
    sum(social_shares) AS c_social_shares,
    sum(social_comments) AS c_social_comments,
    sum(social_video_views) AS c_social_video_views,
    sum(social_replies) AS c_social_replies,
    sum(positive_social_comments) AS c_positive_social_comments,
    sum(neutral_social_comments) AS c_neutral_social_comments,
    sum(negative_social_comments) AS c_negative_social_comments,
    sum(cart_adds) AS c_cart_adds,
    sum(cart_removals) AS c_cart_removals,
    sum(checkouts_started) AS c_checkouts_started,
    sum(checkouts_completed) AS c_checkouts_completed,
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
    sumMap(social_by_network) AS c_social_by_network,
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
        sum(c_social_likes) OVER w7 AS s7_social_likes,
        sum(c_social_shares) OVER w7 AS s7_social_shares,
        sum(c_social_comments) OVER w7 AS s7_social_comments,
        sum(c_social_video_views) OVER w7 AS s7_social_video_views,
        sum(c_social_replies) OVER w7 AS s7_social_replies,
        sum(c_positive_social_comments) OVER w7 AS s7_positive_social_comments,
        sum(c_neutral_social_comments) OVER w7 AS s7_neutral_social_comments,
        sum(c_negative_social_comments) OVER w7 AS s7_negative_social_comments,
        sum(c_cart_adds) OVER w7 AS s7_cart_adds,
        sum(c_cart_removals) OVER w7 AS s7_cart_removals,
        sum(c_checkouts_started) OVER w7 AS s7_checkouts_started,
        sum(c_checkouts_completed) OVER w7 AS s7_checkouts_completed,
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
        sum(c_social_likes) OVER w30 AS s30_social_likes,
        sum(c_social_shares) OVER w30 AS s30_social_shares,
        sum(c_social_comments) OVER w30 AS s30_social_comments,
        sum(c_social_video_views) OVER w30 AS s30_social_video_views,
        sum(c_social_replies) OVER w30 AS s30_social_replies,
        sum(c_positive_social_comments) OVER w30 AS s30_positive_social_comments,
        sum(c_neutral_social_comments) OVER w30 AS s30_neutral_social_comments,
        sum(c_negative_social_comments) OVER w30 AS s30_negative_social_comments,
        sum(c_cart_adds) OVER w30 AS s30_cart_adds,
        sum(c_cart_removals) OVER w30 AS s30_cart_removals,
        sum(c_checkouts_started) OVER w30 AS s30_checkouts_started,
        sum(c_checkouts_completed) OVER w30 AS s30_checkouts_completed,
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
        sumMap(c_orders_by_currency) OVER w30 AS s30_orders_by_currency,
        sumMap(c_social_by_network) OVER w7 AS s7_social_by_network,
        sumMap(c_social_by_network) OVER w30 AS s30_social_by_network
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
    tupleElement(picked, 45) AS social_likes,
    tupleElement(picked, 46) AS social_shares,
    tupleElement(picked, 47) AS social_comments,
    tupleElement(picked, 48) AS social_video_views,
    tupleElement(picked, 49) AS social_replies,
    tupleElement(picked, 50) AS positive_social_comments,
    tupleElement(picked, 51) AS neutral_social_comments,
    tupleElement(picked, 52) AS negative_social_comments,
    tupleElement(picked, 53) AS cart_adds,
    tupleElement(picked, 54) AS cart_removals,
    tupleElement(picked, 55) AS checkouts_started,
    tupleElement(picked, 56) AS checkouts_completed,
    tupleElement(picked, 57) AS social_by_network,
    c_stage_counts AS stage_counts,
    c_updated_at AS updated_at
FROM windowed
ARRAY JOIN [1, 7, 30] AS window_days
ARRAY JOIN [multiIf(
    window_days = 1, (c_visitors, c_sessions, c_timed_sessions, c_buyers, c_repeat_buyers, c_page_views, c_time_on_page_ms_sum, c_timed_page_views, c_time_on_site_ms_sum, c_cta_impressions, c_cta_clicks, c_forms_submitted, c_orders, c_revenue, c_purchase_cycle_days_sum, c_first_purchases, c_nps_promoters, c_nps_passives, c_nps_detractors, c_csat_sum_milli, c_csat_responses, c_csat_satisfied, c_ces_sum_milli, c_ces_responses, c_positive_comments, c_neutral_comments, c_negative_comments, c_dormant_customers, c_transitions_to, c_newly_dormant_customers, c_returning_visitors_1d, c_previous_visitors_1d, c_session_page_views, c_converted_visitors, c_window_repeat_buyers, c_unscored_comments, c_revenue_by_currency, c_orders_by_currency, c_reviews, c_review_stars_sum, c_low_rated_reviews, c_positive_reviews, c_neutral_reviews, c_negative_reviews, c_social_likes, c_social_shares, c_social_comments, c_social_video_views, c_social_replies, c_positive_social_comments, c_neutral_social_comments, c_negative_social_comments, c_cart_adds, c_cart_removals, c_checkouts_started, c_checkouts_completed, c_social_by_network),
    window_days = 7, (c_visitors_7d, c_sessions_7d, c_timed_sessions_7d, c_buyers_7d, c_repeat_buyers_7d, s7_page_views, s7_time_on_page_ms_sum, s7_timed_page_views, s7_time_on_site_ms_sum, s7_cta_impressions, s7_cta_clicks, s7_forms_submitted, s7_orders, s7_revenue, s7_purchase_cycle_days_sum, s7_first_purchases, s7_nps_promoters, s7_nps_passives, s7_nps_detractors, s7_csat_sum_milli, s7_csat_responses, s7_csat_satisfied, s7_ces_sum_milli, s7_ces_responses, s7_positive_comments, s7_neutral_comments, s7_negative_comments, c_dormant_customers, s7_transitions_to, s7_newly_dormant_customers, c_returning_visitors_7d, c_previous_visitors_7d, s7_session_page_views, c_converted_visitors_7d, c_window_repeat_buyers_7d, s7_unscored_comments, s7_revenue_by_currency, s7_orders_by_currency, s7_reviews, s7_review_stars_sum, s7_low_rated_reviews, s7_positive_reviews, s7_neutral_reviews, s7_negative_reviews, s7_social_likes, s7_social_shares, s7_social_comments, s7_social_video_views, s7_social_replies, s7_positive_social_comments, s7_neutral_social_comments, s7_negative_social_comments, s7_cart_adds, s7_cart_removals, s7_checkouts_started, s7_checkouts_completed, s7_social_by_network),
    (c_visitors_30d, c_sessions_30d, c_timed_sessions_30d, c_buyers_30d, c_repeat_buyers_30d, s30_page_views, s30_time_on_page_ms_sum, s30_timed_page_views, s30_time_on_site_ms_sum, s30_cta_impressions, s30_cta_clicks, s30_forms_submitted, s30_orders, s30_revenue, s30_purchase_cycle_days_sum, s30_first_purchases, s30_nps_promoters, s30_nps_passives, s30_nps_detractors, s30_csat_sum_milli, s30_csat_responses, s30_csat_satisfied, s30_ces_sum_milli, s30_ces_responses, s30_positive_comments, s30_neutral_comments, s30_negative_comments, c_dormant_customers, s30_transitions_to, s30_newly_dormant_customers, c_returning_visitors_30d, c_previous_visitors_30d, s30_session_page_views, c_converted_visitors_30d, c_window_repeat_buyers_30d, s30_unscored_comments, s30_revenue_by_currency, s30_orders_by_currency, s30_reviews, s30_review_stars_sum, s30_low_rated_reviews, s30_positive_reviews, s30_neutral_reviews, s30_negative_reviews, s30_social_likes, s30_social_shares, s30_social_comments, s30_social_video_views, s30_social_replies, s30_positive_social_comments, s30_neutral_social_comments, s30_negative_social_comments, s30_cart_adds, s30_cart_removals, s30_checkouts_started, s30_checkouts_completed, s30_social_by_network))] AS picked;

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
    toUInt64(social_likes + social_shares + social_comments + social_video_views + social_replies) AS social_engagements,
    toUInt64(social_likes) AS social_likes,
    toUInt64(social_shares) AS social_shares,
    toUInt64(social_comments) AS social_comments,
    toUInt64(social_video_views) AS social_video_views,
    toUInt64(social_replies) AS social_replies,
    social_by_network,
    if((positive_social_comments + neutral_social_comments + negative_social_comments) = 0, NULL, toFloat64(round(toDecimal128((negative_social_comments / (positive_social_comments + neutral_social_comments + negative_social_comments)) * 100, 10), 4))) AS negative_social_comment_pct,
    toUInt64(cart_adds) AS cart_adds,
    toUInt64(cart_removals) AS cart_removals,
    toUInt64(checkouts_started) AS checkouts_started,
    toUInt64(checkouts_started - checkouts_completed) AS abandoned_checkouts,
    if(checkouts_started = 0, NULL, toFloat64(round(toDecimal128(((checkouts_started - checkouts_completed) / checkouts_started) * 100, 10), 4))) AS cart_abandonment_rate_pct,
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

CREATE OR REPLACE VIEW journey.segment_kpis_daily AS
SELECT * EXCEPT (window_days)
FROM journey.segment_kpis
WHERE window_days = 1;

-- KPIs by the event's channel (web, app, store, phone, email, chat, social, …) per segment and
-- day, and for all segments together (segment '*'): "NPS by channel" is one query. A parameterized
-- view, straight from the events, called with the reporting time zone:
--   SELECT day, channel, nps FROM journey.channel_kpis_daily(time_zone = 'Asia/Tehran') WHERE segment = '*'
-- The segment is the event's own (`unassigned` when it names none); surveys on 7 or 10 points are
-- mapped onto 1–5 as segment_kpis maps them; every event counts, late ones too (segment_kpis
-- leaves out events later than ALLOWED_LATENESS_S). Conversion and checkout abandonment are not
-- broken down: a customer often visits on one channel and buys on another.
CREATE OR REPLACE VIEW journey.channel_kpis_daily AS
SELECT
    day,
    if(grouping(event_segment) = 1, '*', event_segment) AS segment,
    event_channel AS channel,
    uniqExactIf(customer, type = 'page_view') AS visitors,
    uniqExactIf((customer, session_id), type = 'page_view' AND session_id IS NOT NULL) AS sessions,
    countIf(type = 'page_view') AS page_views,
    countIf(type = 'form_submission') AS forms_submitted,
    countIf(type = 'purchase') AS orders,
    uniqExactIf(customer, type = 'purchase') AS buyers,
    sumMapIf(map(assumeNotNull(currency), assumeNotNull(amount)), type = 'purchase') AS revenue_by_currency,
    sumMapIf(map(assumeNotNull(currency), toUInt64(1)), type = 'purchase') AS orders_by_currency,
    mapApply((code, total) -> (code, round(toDecimal128(total, 8) / orders_by_currency[code], 4)), revenue_by_currency) AS aov_by_currency,
    countIf(survey_type = 'nps') AS nps_responses,
    if(nps_responses = 0, NULL, toFloat64(round(toDecimal128(((countIf(survey_type = 'nps' AND score >= 9) - countIf(survey_type = 'nps' AND score <= 6)) / nps_responses) * 100, 10), 4))) AS nps,
    countIf(survey_type = 'csat') AS csat_responses,
    if(csat_responses = 0, NULL, toFloat64(round(toDecimal128(avgIf(five_points, survey_type = 'csat'), 10), 4))) AS csat,
    countIf(survey_type = 'ces') AS ces_responses,
    if(ces_responses = 0, NULL, toFloat64(round(toDecimal128(avgIf(if(ces_form = 'agreement', 6 - five_points, five_points), survey_type = 'ces'), 10), 4))) AS ces,
    countIf(type = 'survey_response' AND comment_sentiment IN ('positive', 'neutral', 'negative')) AS scored_comments,
    if(scored_comments = 0, NULL, toFloat64(round(toDecimal128((countIf(type = 'survey_response' AND comment_sentiment = 'negative') / scored_comments) * 100, 10), 4))) AS negative_sentiment_pct,
    countIf(type = 'review') AS reviews,
    if(reviews = 0, NULL, toFloat64(round(toDecimal128(avgIf(rating, type = 'review'), 10), 4))) AS avg_review_rating,
    countIf(type = 'social_engagement') AS social_engagements,
    countIf(type = 'cart' AND action = 'add_to_cart') AS cart_adds
FROM
(
    SELECT
        *,
        toDate(occurred_at, {time_zone:String}) AS day,
        ifNull(segment, 'unassigned') AS event_segment,
        ifNull(channel, '(none)') AS event_channel,
        person AS customer,
        -- On 1–5 in thousandths, as services/processor/rules/kpis.ts (onFivePoints) maps each answer.
        round(1 + (score - 1) * 4 / (ifNull(scale, 5) - 1), 3) AS five_points
    FROM journey.resolved_events
)
GROUP BY GROUPING SETS ((day, event_segment, event_channel), (day, event_channel));
