-- vigil schema v5: quality_5m is written by the writer with each scores batch instead of by a
-- materialized view. The view expanded every score into a row and grouped them by eight keys on
-- each insert, which cost ClickHouse about as much as storing the scores themselves; the writer
-- sums a batch in one pass over its records. Rows are the same: one per 5-minute bucket, series
-- and metric, summed by the SummingMergeTree.
DROP TABLE IF EXISTS mv_quality_5m;
