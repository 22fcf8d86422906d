package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vigilhq/vigil/pkg/event"
	"github.com/vigilhq/vigil/pkg/store"
	"github.com/vigilhq/vigil/pkg/testkit"
)

// benchScored builds n records of perRecord scores with strings shaped like the scorer's.
func benchScored(n, perRecord int) []*event.Scored {
	ts := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	metrics := []string{"non_empty", "length_chars", "refusal", "json_valid", "schema_valid", "pii_email",
		"pii_phone", "toxicity", "latency_budget", "cost_budget", "grounded", "answer_relevance",
		"language_match", "no_truncation", "format_markdown", "max_tokens", "repetition", "citation_present"}
	records := make([]*event.Scored, n)
	for i := range records {
		scores := make([]event.Score, perRecord)
		for j := range scores {
			sc := event.Score{Metric: metrics[j%len(metrics)], Kind: event.KindCheck, Value: float64(i%7) / 7, Pass: (i+j)%5 != 0}
			if j%3 == 0 {
				sc.Kind, sc.Value = event.KindMeasure, float64(100+i%900)
			}
			if j%4 == 0 {
				sc.Label = "en"
			}
			if !sc.Pass {
				sc.Reason = fmt.Sprintf("output of %d characters exceeds the limit for record %d", 100+j, i)
			}
			scores[j] = sc
		}
		records[i] = &event.Scored{EventID: fmt.Sprintf("01JD%022d", i), Timestamp: ts.Add(time.Duration(i) * time.Millisecond),
			Series: event.Series{App: "shop", Environment: "production", Feature: "product-search", Model: "gpt-4o-mini",
				PromptVersion: "v12"}, Stage: "live", Source: "checks", RulesVersion: "r-2026-11-20", Scores: scores}
	}
	return records
}

// BenchmarkInsertScores inserts 10,000-record batches and reports, besides the client's time,
// the CPU the ClickHouse server spent per record: the rows, the rollup and the materialized views.
func BenchmarkInsertScores(b *testing.B) {
	ctx := context.Background()
	conn := testkit.Conn(b, ch.Database(b))
	records := benchScored(10_000, 18)
	serverStart, err := testkit.ProcessCPU(ch.PID())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := store.InsertScores(ctx, conn, records); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	serverEnd, err := testkit.ProcessCPU(ch.PID())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric((serverEnd-serverStart)*1e6/float64(b.N*len(records)), "server-µs/record")
}

// BenchmarkFillScores measures only the client's work: filling the block, without the round
// trips; "fresh" allocates the String columns' arrays for every batch, "kept" reuses an
// Inserter's, as the writer does.
func BenchmarkFillScores(b *testing.B) {
	for _, kept := range []bool{false, true} {
		name := "fresh"
		if kept {
			name = "kept"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			conn := testkit.Conn(b, ch.Database(b))
			records := benchScored(10_000, 18)
			var in *store.Inserter
			if kept {
				in = &store.Inserter{}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				batch, err := conn.PrepareBatch(ctx, store.InsertScoresSQL)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := store.FillScores(batch, records, in); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := batch.Abort(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}
