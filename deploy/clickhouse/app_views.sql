-- One app's rows for a reader confined to a database of its own (user vigil_reader_shop in
-- users.xml). ClickHouse 18.16 has no row filters, and a view may not read a database its user
-- is denied, so the app's rows are copied into that database as they arrive: materialized views
-- in vigil_shop take them from vigil's tables, and the reader queries the same v_* views there.
-- Copy this file per app, replace shop (the app) and vigil (the database) everywhere, and run it
-- as the operator after `vigil migrate`:  clickhouse-client --multiquery < app_views.sql
-- The writer user must be allowed vigil_shop too (allow_databases), because its inserts feed the
-- copies. Rows stored before this runs are copied by the INSERT ... SELECT lines; copies that
-- overlap collapse like redeliveries do (ReplacingMergeTree, read with FINAL).
CREATE DATABASE IF NOT EXISTS vigil_shop;

CREATE TABLE IF NOT EXISTS vigil_shop.model_calls AS vigil.model_calls;
CREATE MATERIALIZED VIEW IF NOT EXISTS vigil_shop.mv_model_calls TO vigil_shop.model_calls AS
SELECT * FROM vigil.model_calls WHERE app = 'shop';
INSERT INTO vigil_shop.model_calls SELECT * FROM vigil.model_calls WHERE app = 'shop';
CREATE VIEW IF NOT EXISTS vigil_shop.v_model_calls AS SELECT * FROM vigil_shop.model_calls FINAL;

CREATE TABLE IF NOT EXISTS vigil_shop.scores AS vigil.scores;
CREATE MATERIALIZED VIEW IF NOT EXISTS vigil_shop.mv_scores TO vigil_shop.scores AS
SELECT * FROM vigil.scores WHERE app = 'shop';
INSERT INTO vigil_shop.scores SELECT * FROM vigil.scores WHERE app = 'shop';
CREATE VIEW IF NOT EXISTS vigil_shop.v_scores AS
SELECT
    event_id, timestamp, app, environment, feature, stage, model, prompt_version, source, rules_version,
    metric, kind, value, pass, label, reason
FROM vigil_shop.scores FINAL
ARRAY JOIN
    metric_names AS metric, metric_kinds AS kind, metric_values AS value,
    metric_passed AS pass, metric_labels AS label, metric_reasons AS reason;

CREATE TABLE IF NOT EXISTS vigil_shop.alerts AS vigil.alerts;
CREATE MATERIALIZED VIEW IF NOT EXISTS vigil_shop.mv_alerts TO vigil_shop.alerts AS
SELECT * FROM vigil.alerts WHERE app = 'shop';
INSERT INTO vigil_shop.alerts SELECT * FROM vigil.alerts WHERE app = 'shop';
CREATE VIEW IF NOT EXISTS vigil_shop.v_alerts AS SELECT * FROM vigil_shop.alerts FINAL;

CREATE TABLE IF NOT EXISTS vigil_shop.quality_5m AS vigil.quality_5m;
CREATE MATERIALIZED VIEW IF NOT EXISTS vigil_shop.mv_quality_5m TO vigil_shop.quality_5m AS
SELECT * FROM vigil.quality_5m WHERE app = 'shop';
INSERT INTO vigil_shop.quality_5m SELECT * FROM vigil.quality_5m WHERE app = 'shop';
