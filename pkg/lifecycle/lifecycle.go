// Package lifecycle starts a service's components in order and stops them in reverse on
// shutdown, the way every vigil service runs.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Component is a long-running part of a service. Start returns promptly; Shutdown is idempotent,
// honours its context's deadline and flushes what the component holds.
type Component interface {
	Start(ctx context.Context) error
	Shutdown(ctx context.Context) error
}

// Named pairs a component with the name used in logs.
type Named struct {
	Name string
	Component
}

// Run starts components in the given order (list them downstream-first), calls ready(true) once
// all run, waits for ctx to end (the shutdown signal), then calls ready(false) and shuts the
// components down in reverse order within grace. Components run under a context that the signal
// does not cancel, so that they drain instead of dropping work; it is cancelled only once the
// shutdown is over, or when grace runs out. A component that fails to start stops the ones
// already started.
func Run(ctx context.Context, log *slog.Logger, grace time.Duration, ready func(bool), components ...Named) error {
	runCtx, hardStop := context.WithCancel(context.WithoutCancel(ctx))
	defer hardStop()
	started := make([]Named, 0, len(components))
	stopAll := func() error {
		ready(false)
		timer := time.AfterFunc(grace, hardStop)
		defer timer.Stop()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
		defer cancel()
		var errs []error
		for i := len(started) - 1; i >= 0; i-- {
			c := started[i]
			t0 := time.Now()
			if err := c.Shutdown(sctx); err != nil {
				errs = append(errs, fmt.Errorf("shut down %s: %w", c.Name, err))
				continue
			}
			log.Debug("stopped", "component", c.Name, "took", time.Since(t0).Round(time.Millisecond))
		}
		return errors.Join(errs...)
	}
	for _, c := range components {
		if err := c.Start(runCtx); err != nil {
			return errors.Join(fmt.Errorf("start %s: %w", c.Name, err), stopAll())
		}
		started = append(started, c)
	}
	ready(true)
	<-ctx.Done()
	log.Info("shutting down", "grace", grace)
	return stopAll()
}

// Func adapts start and shutdown functions to Component; either may be nil.
type Func struct {
	OnStart    func(ctx context.Context) error
	OnShutdown func(ctx context.Context) error
}

// Start calls OnStart.
func (f Func) Start(ctx context.Context) error {
	if f.OnStart == nil {
		return nil
	}
	return f.OnStart(ctx)
}

// Shutdown calls OnShutdown.
func (f Func) Shutdown(ctx context.Context) error {
	if f.OnShutdown == nil {
		return nil
	}
	return f.OnShutdown(ctx)
}
