-- vigil schema v4: baselines and accepted eval runs. Same portable subset as 0001.
--
-- baselines: one row per baseline the drift service pinned for a quality series (auto: its first
-- events; operator: vigil baseline pin; inherited: the previous prompt_version or model's), as
-- recorded in the vigil_baselines key-value bucket and copied here by the writer. A re-published
-- record collapses on (series, metric, source, pinned_at). v_baselines lists them all;
-- v_baselines_current keeps the newest per series and metric.
CREATE TABLE IF NOT EXISTS baselines (
    app                   String,
    environment           String,
    feature               String,
    model                 String,
    prompt_version        String,
    metric                String,
    source                String,
    origin_model          String,
    origin_prompt_version String,
    pinned_at             DateTime,
    window_from           DateTime,
    window_to             DateTime,
    n                     UInt64,
    failures              UInt64,
    failure_rate          Float64,
    values_n              UInt64,
    mean                  Float64,
    stddev                Float64,
    labelled              UInt64,
    recorded_at           DateTime,
    revision              UInt64
) ENGINE = ReplacingMergeTree(revision)
PARTITION BY toYYYYMM(pinned_at)
ORDER BY (app, feature, environment, model, prompt_version, metric, pinned_at, source);

CREATE VIEW IF NOT EXISTS v_baselines AS
SELECT * FROM baselines FINAL;

CREATE VIEW IF NOT EXISTS v_baselines_current AS
SELECT
    app, environment, feature, model, prompt_version, metric,
    argMax(source, revision) AS source,
    argMax(origin_model, revision) AS origin_model,
    argMax(origin_prompt_version, revision) AS origin_prompt_version,
    max(pinned_at) AS pinned_at,
    argMax(window_from, revision) AS window_from,
    argMax(window_to, revision) AS window_to,
    argMax(n, revision) AS n,
    argMax(failure_rate, revision) AS failure_rate,
    argMax(mean, revision) AS mean,
    argMax(stddev, revision) AS stddev
FROM baselines FINAL
GROUP BY app, environment, feature, model, prompt_version, metric;

-- eval_acceptances: one row per `vigil eval accept RUN`: that run became the expected quality of
-- its (app, feature, prompt_version) version, for its model or (model = '') for every model. The
-- run's per-metric results are copied as parallel arrays. v_eval_acceptances keeps the newest
-- acceptance per version.
CREATE TABLE IF NOT EXISTS eval_acceptances (
    app               String,
    feature           String,
    prompt_version    String,
    model             String,
    run_id            String,
    dataset           String,
    dataset_version   UInt32,
    metric_names      Array(String),
    metric_n          Array(UInt64),
    metric_pass_rates Array(Float64),
    metric_means      Array(Float64),
    accepted_at       DateTime,
    accepted_by       String,
    revision          UInt64
) ENGINE = ReplacingMergeTree(revision)
PARTITION BY toYYYYMM(accepted_at)
ORDER BY (app, feature, prompt_version, model, accepted_at, run_id);

CREATE VIEW IF NOT EXISTS v_eval_acceptances AS
SELECT
    app, feature, prompt_version, model,
    argMax(run_id, revision) AS run_id,
    argMax(dataset, revision) AS dataset,
    argMax(dataset_version, revision) AS dataset_version,
    argMax(metric_names, revision) AS metric_names,
    argMax(metric_pass_rates, revision) AS metric_pass_rates,
    argMax(metric_means, revision) AS metric_means,
    max(accepted_at) AS accepted_at
FROM eval_acceptances FINAL
GROUP BY app, feature, prompt_version, model;
