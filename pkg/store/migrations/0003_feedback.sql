-- vigil schema v3: user feedback and late ground-truth labels about model calls. Same portable
-- subset as 0001. One row per feedback_id (several feedbacks for one call are several rows);
-- its score row lands in scores with source 'feedback' and rules_version = feedback_id. Users
-- query v_feedback, which reads exactly once per feedback_id.

CREATE TABLE IF NOT EXISTS feedback (
    feedback_id    String,
    event_id       String,
    timestamp      DateTime,
    app            String,
    environment    String,
    feature        String,
    model          String,
    prompt_version String,
    kind           String,
    value          Nullable(Float64),
    scale_min      Nullable(Float64),
    scale_max      Nullable(Float64),
    label          String,
    predicted      String,
    correction     String,
    comment        String,
    user_id        String,
    source         String,
    inserted_at    DateTime DEFAULT now()
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMMDD(timestamp)
ORDER BY (app, event_id, feedback_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_stored_keys_feedback TO stored_keys AS
SELECT 'feedback' AS kind, feedback_id AS key, toDate(timestamp) AS day FROM feedback;

CREATE VIEW IF NOT EXISTS v_feedback AS
SELECT * FROM feedback FINAL;
