package stream

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestFetchEnded(t *testing.T) {
	tests := []struct {
		err  error
		n    int
		want bool
	}{
		{nats.ErrTimeout, 0, true},
		{context.DeadlineExceeded, 3, true},
		// A fetch with a byte budget that got its count; a cluster also sends it with none.
		{jetstream.ErrBatchCompleted, 0, true},
		{fmt.Errorf("fetch: %w", jetstream.ErrBatchCompleted), 10, true},
		{jetstream.ErrMaxBytesExceeded, 5, true},
		// Not even one message fits the budget: the fetch can never make progress.
		{jetstream.ErrMaxBytesExceeded, 0, false},
		{nats.ErrNoResponders, 0, false},
		{errors.New("consumer deleted"), 0, false},
	}
	for _, tt := range tests {
		if got := fetchEnded(tt.err, tt.n); got != tt.want {
			t.Errorf("fetchEnded(%v, %d) = %v, want %v", tt.err, tt.n, got, tt.want)
		}
	}
}
