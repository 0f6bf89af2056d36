-- The sentiment of each survey comment, in the language it is written in (services/sentiment):
-- comment_language 'en', 'fa', 'ar' or 'unknown'; comment_sentiment 'positive', 'neutral',
-- 'negative' or 'unscored' (a language the model cannot score: in no share of sentiment);
-- comment_score -1 … +1, NULL when unscored. NULL on events without a comment, and on rows the
-- sink wrote before this migration.
ALTER TABLE journey.events ADD COLUMN IF NOT EXISTS comment_language LowCardinality(Nullable(String)) AFTER comment;
ALTER TABLE journey.events ADD COLUMN IF NOT EXISTS comment_sentiment LowCardinality(Nullable(String)) AFTER comment_language;
ALTER TABLE journey.events ADD COLUMN IF NOT EXISTS comment_score Nullable(Float32) AFTER comment_sentiment;

-- Comments the sentiment model could not score, per segment-day share (not in positive_comments,
-- neutral_comments or negative_comments, so the sentiment shares of the KPI views leave them out).
ALTER TABLE journey.segment_kpi_partials ADD COLUMN IF NOT EXISTS unscored_comments Int64 DEFAULT 0 AFTER negative_comments;
