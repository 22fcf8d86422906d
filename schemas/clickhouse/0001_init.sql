-- vigil schema v1. Portable to ClickHouse 18.16 and current releases: no TTL, CODEC, Map, JSON,
-- DateTime64 or skip indexes. Users query the v_* views, which read exactly once per identity.

CREATE TABLE IF NOT EXISTS model_calls (
    event_id            String,
    timestamp           DateTime,
    app                 String,
    environment         String,
    feature             String,
    stage               String,
    trace_id            String,
    span_id             String,
    parent_span_id      String,
    provider            String,
    model               String,
    prompt_id           String,
    prompt_version      String,
    input               String,
    messages            String,
    output              String,
    system_instructions String,
    expected            String,
    context             String,
    output_schema       String,
    latency_ms          Float64,
    ttft_ms             Float64,
    input_tokens        UInt64,
    output_tokens       UInt64,
    cost_usd            Float64,
    finish_reason       String,
    status              String,
    error               String,
    user_id             String,
    session_id          String,
    attribute_keys      Array(String),
    attribute_values    Array(String),
    inserted_at         DateTime DEFAULT now()
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMMDD(timestamp)
ORDER BY (app, feature, timestamp, event_id);

CREATE TABLE IF NOT EXISTS scores (
    event_id       String,
    timestamp      DateTime,
    app            String,
    environment    String,
    feature        String,
    stage          String,
    model          String,
    prompt_version String,
    source         String,
    rules_version  String,
    metric_names   Array(String),
    metric_kinds   Array(String),
    metric_values  Array(Float64),
    metric_passed  Array(UInt8),
    metric_labels  Array(String),
    metric_reasons Array(String),
    inserted_at    DateTime DEFAULT now()
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMMDD(timestamp)
ORDER BY (app, feature, timestamp, event_id, source, rules_version);

CREATE TABLE IF NOT EXISTS alerts (
    alert_id                 String,
    fingerprint              String,
    sequence                 UInt64,
    state                    Enum8('pending' = 1, 'firing' = 2, 'resolved' = 3),
    previous_state           String,
    resend                   UInt8,
    severity                 Enum8('warning' = 1, 'critical' = 2),
    alertname                String,
    app                      String,
    environment              String,
    feature                  String,
    model                    String,
    prompt_version           String,
    metric                   String,
    signal                   String,
    summary                  String,
    starts_at                DateTime,
    ends_at                  Nullable(DateTime),
    at                       DateTime,
    detector                 String,
    statistic                Float64,
    threshold                Float64,
    p_value                  Float64,
    baseline_value           Float64,
    baseline_n               UInt64,
    baseline_source          String,
    baseline_prompt_version  String,
    baseline_model           String,
    current_value            Float64,
    current_n                UInt64,
    window_start             DateTime,
    window_end               DateTime,
    example_event_ids        Array(String),
    label_keys               Array(String),
    label_values             Array(String),
    inserted_at              DateTime DEFAULT now()
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (app, fingerprint, alert_id);

-- Rollup of quality per 5 minutes. Approximate: a copy inserted before the writer's redelivery
-- check caught it counts here, while the v_* views stay exact.
CREATE TABLE IF NOT EXISTS quality_5m (
    bucket         DateTime,
    app            String,
    environment    String,
    feature        String,
    model          String,
    prompt_version String,
    source         String,
    metric         String,
    events         UInt64,
    failures       UInt64,
    value_sum      Float64
) ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (app, feature, metric, bucket, environment, model, prompt_version, source);

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_quality_5m TO quality_5m AS
SELECT
    toStartOfFiveMinute(timestamp) AS bucket,
    app, environment, feature, model, prompt_version, source, metric,
    count() AS events,
    countIf(pass = 0) AS failures,
    sum(value) AS value_sum
FROM scores
ARRAY JOIN metric_names AS metric, metric_passed AS pass, metric_values AS value
GROUP BY bucket, app, environment, feature, model, prompt_version, source, metric;

-- Narrow table of stored identities sorted by key: answers "already stored?" for redelivered
-- messages without scanning the wide tables.
CREATE TABLE IF NOT EXISTS stored_keys (
    kind String,
    key  String,
    day  Date
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (kind, key);

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_stored_keys_model_calls TO stored_keys AS
SELECT 'model_calls' AS kind, event_id AS key, toDate(timestamp) AS day FROM model_calls;

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_stored_keys_scores TO stored_keys AS
SELECT 'scores' AS kind, concat(event_id, '/', source, '/', rules_version) AS key, toDate(timestamp) AS day FROM scores;

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_stored_keys_alerts TO stored_keys AS
SELECT 'alerts' AS kind, alert_id AS key, toDate(at) AS day FROM alerts;

CREATE VIEW IF NOT EXISTS v_model_calls AS
SELECT * FROM model_calls FINAL;

CREATE VIEW IF NOT EXISTS v_scores AS
SELECT
    event_id, timestamp, app, environment, feature, stage, model, prompt_version, source, rules_version,
    metric, kind, value, pass, label, reason
FROM scores FINAL
ARRAY JOIN
    metric_names AS metric, metric_kinds AS kind, metric_values AS value,
    metric_passed AS pass, metric_labels AS label, metric_reasons AS reason;

CREATE VIEW IF NOT EXISTS v_alerts AS
SELECT * FROM alerts FINAL;
