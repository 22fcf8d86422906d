// Package evalreport renders an eval run as one self-contained HTML file: plots of each metric
// across the dataset's runs over time, the comparison with another run (the statistics of
// eval.Compare), and a word-level diff of each changed case's outputs.
//
// The file needs no network: CSS, SVG and a small script are inline, and a Content Security
// Policy allows only that script (by its hash) and nothing remote. Every text that comes from a
// run (outputs, case ids, tags, metric names) is untrusted and escaped by html/template. Nothing
// here does I/O beyond writing to the given writer: the vigil CLI reads runs from ClickHouse.
package evalreport
