// Package eval is the pure part of offline evaluation: golden datasets (versioned JSONL files of
// cases, decoded strictly and validated with errors that name the line and the field), prompt
// templates, the bookkeeping of a run (its identity, the event each case becomes so that the live
// scorer judges it, resumption, summaries) and the statistics that compare two runs (a seeded
// paired bootstrap) and gate a candidate against a baseline.
//
// Nothing here does I/O: pkg/store reads and writes datasets, runs and results in ClickHouse, and
// the vigil CLI calls the model under test.
package eval
