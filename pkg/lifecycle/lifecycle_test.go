package lifecycle_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilhq/vigil/pkg/lifecycle"
)

// recorder logs the order of starts and shutdowns, and whether the run context was still alive
// during shutdown.
type recorder struct {
	name string
	log  *[]string
	ctx  context.Context
	fail bool
}

func (r *recorder) Start(ctx context.Context) error {
	r.ctx = ctx
	*r.log = append(*r.log, "start "+r.name)
	if r.fail {
		return errors.New("boom")
	}
	return nil
}

func (r *recorder) Shutdown(context.Context) error {
	state := "alive"
	if r.ctx.Err() != nil {
		state = "cancelled"
	}
	*r.log = append(*r.log, "stop "+r.name+" ("+state+")")
	return nil
}

func TestRunOrderAndDrainContext(t *testing.T) {
	var log []string
	var readiness []bool
	ctx, cancel := context.WithCancel(context.Background())
	comps := []lifecycle.Named{{Name: "a", Component: &recorder{name: "a", log: &log}}, {Name: "b", Component: &recorder{name: "b", log: &log}}}
	done := make(chan error)
	go func() {
		done <- lifecycle.Run(ctx, slog.New(slog.DiscardHandler), time.Second, func(r bool) { readiness = append(readiness, r) }, comps...)
	}()
	time.Sleep(10 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	want := []string{"start a", "start b", "stop b (alive)", "stop a (alive)"}
	if diff := cmp.Diff(want, log); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bool{true, false}, readiness); diff != "" {
		t.Errorf("readiness (-want +got):\n%s", diff)
	}
}

func TestRunStopsStartedComponentsWhenOneFails(t *testing.T) {
	var log []string
	comps := []lifecycle.Named{{Name: "a", Component: &recorder{name: "a", log: &log}}, {Name: "b", Component: &recorder{name: "b", log: &log, fail: true}}}
	err := lifecycle.Run(context.Background(), slog.New(slog.DiscardHandler), time.Second, func(bool) {}, comps...)
	if err == nil {
		t.Fatal("Run = nil, want the start error")
	}
	want := []string{"start a", "start b", "stop a (alive)"}
	if diff := cmp.Diff(want, log); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}
