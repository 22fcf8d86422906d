-- vigil schema v2: offline evaluation. Golden datasets (immutable versions of cases), eval runs
-- and their per-case results. Same portable subset as 0001. Users query v_eval_results and
-- v_eval_history; the tables are ReplacingMergeTree keyed on each row's identity and the views
-- read them with FINAL.

CREATE TABLE IF NOT EXISTS eval_datasets (
    name         String,
    version      UInt32,
    cases        UInt32,
    content_hash String,
    source       String,
    created_at   DateTime
) ENGINE = ReplacingMergeTree
ORDER BY (name, version);

CREATE TABLE IF NOT EXISTS eval_cases (
    dataset             String,
    version             UInt32,
    case_id             String,
    position            UInt32,
    input               String,
    messages            String,
    expected            String,
    context             String,
    output_schema       String,
    tags                Array(String),
    system_instructions String
) ENGINE = ReplacingMergeTree
ORDER BY (dataset, version, case_id);

-- One row per state of a run (running, then done, interrupted or failed); revision orders them.
CREATE TABLE IF NOT EXISTS eval_runs (
    run_id         String,
    dataset        String,
    version        UInt32,
    app            String,
    feature        String,
    prompt_version String,
    model          String,
    target         String,
    params         String,
    started_at     DateTime,
    finished_at    Nullable(DateTime),
    status         Enum8('running' = 1, 'done' = 2, 'interrupted' = 3, 'failed' = 4),
    cases          UInt32,
    summary        String,
    revision       UInt64
) ENGINE = ReplacingMergeTree(revision)
PARTITION BY toYYYYMM(started_at)
ORDER BY run_id;

-- One row per case of a run, its scores as parallel arrays like scores. A resumed run that
-- retries a case whose call failed writes a newer revision of the row.
CREATE TABLE IF NOT EXISTS eval_results (
    run_id         String,
    case_id        String,
    started_at     DateTime,
    finished_at    DateTime,
    dataset        String,
    version        UInt32,
    app            String,
    feature        String,
    prompt_version String,
    model          String,
    tags           Array(String),
    output         String,
    latency_ms     Float64,
    attempts       UInt32,
    error          String,
    source         String,
    rules_version  String,
    metric_names   Array(String),
    metric_kinds   Array(String),
    metric_values  Array(Float64),
    metric_passed  Array(UInt8),
    metric_labels  Array(String),
    metric_reasons Array(String),
    revision       UInt64
) ENGINE = ReplacingMergeTree(revision)
PARTITION BY toYYYYMM(started_at)
ORDER BY (run_id, case_id);

CREATE VIEW IF NOT EXISTS v_eval_runs AS
SELECT * FROM eval_runs FINAL;

CREATE VIEW IF NOT EXISTS v_eval_results AS
SELECT
    run_id, case_id, started_at, finished_at, dataset, version, app, feature, prompt_version, model,
    tags, output, latency_ms, attempts, error, source, rules_version,
    metric, kind, value, pass, label, reason
FROM eval_results FINAL
ARRAY JOIN
    metric_names AS metric, metric_kinds AS kind, metric_values AS value,
    metric_passed AS pass, metric_labels AS label, metric_reasons AS reason;

-- Per dataset version, prompt version and metric: each run's mean value and pass rate, oldest
-- run first.
CREATE VIEW IF NOT EXISTS v_eval_history AS
SELECT dataset, version, prompt_version, metric, started_at, run_id, model, status, cases, mean_value, pass_rate
FROM (
    SELECT
        dataset, version, prompt_version, metric, run_id, model,
        min(started_at) AS started_at,
        count() AS cases,
        avg(value) AS mean_value,
        avg(pass) AS pass_rate
    FROM v_eval_results
    GROUP BY dataset, version, prompt_version, metric, run_id, model
)
ANY LEFT JOIN (SELECT run_id, toString(status) AS status FROM eval_runs FINAL) USING run_id
ORDER BY dataset, version, prompt_version, metric, started_at, run_id;
