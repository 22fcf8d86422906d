package store

// FillScores exposes the client-side half of InsertScores to benchmarks.
var FillScores = fillScores

// InsertScoresSQL is the statement InsertScores prepares.
const InsertScoresSQL = insertScores
