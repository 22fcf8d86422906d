// Package pipeline assembles the scorer, drift and writer components into one process, as
// `vigil dev` and the end-to-end tests run them.
package pipeline

import (
	"context"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/vigilhq/vigil/pkg/lifecycle"
	"github.com/vigilhq/vigil/pkg/scoring"
	"github.com/vigilhq/vigil/services/internal/app"
	"github.com/vigilhq/vigil/services/internal/driftsvc"
	"github.com/vigilhq/vigil/services/internal/scorersvc"
	"github.com/vigilhq/vigil/services/internal/writersvc"
)

// Config holds each stage's configuration.
type Config struct {
	Scorer scorersvc.Config
	Drift  driftsvc.Config
	Writer writersvc.Config
	// Connect, when set, gives each stage its own NATS connection, as separate processes have:
	// the server then reads and writes each stage's traffic on its own connection instead of
	// funnelling every publish, ack and delivery through one. It returns the stage's
	// dependencies and a component that drains the connection after the stage stopped.
	Connect func(ctx context.Context, stage string) (app.Deps, lifecycle.Component, error)
}

// Components builds every stage, listed downstream-first (writer, drift, scorer) so that
// lifecycle.Run starts consumers before producers and drains producers first.
func Components(ctx context.Context, d app.Deps, c Config, conn driver.Conn, contracts *scoring.Contracts) ([]lifecycle.Named, error) {
	var out []lifecycle.Named
	depsFor := func(stage string) (app.Deps, error) {
		if c.Connect == nil {
			return d, nil
		}
		sd, drain, err := c.Connect(ctx, stage)
		if err != nil {
			return app.Deps{}, err
		}
		// Listed before the stage, so it is shut down after it.
		out = append(out, lifecycle.Named{Name: "nats-" + stage, Component: drain})
		return sd, nil
	}
	wd, err := depsFor("writer")
	if err != nil {
		return nil, err
	}
	writers, err := writersvc.New(ctx, wd, c.Writer, conn)
	if err != nil {
		return nil, err
	}
	out = append(out, writers...)
	dd, err := depsFor("drift")
	if err != nil {
		return nil, err
	}
	drifter, err := driftsvc.New(ctx, dd, c.Drift)
	if err != nil {
		return nil, err
	}
	out = append(out, lifecycle.Named{Name: "drift", Component: drifter})
	sd, err := depsFor("scorer")
	if err != nil {
		return nil, err
	}
	scorer, err := scorersvc.New(ctx, sd, c.Scorer, contracts)
	if err != nil {
		return nil, err
	}
	return append(out, lifecycle.Named{Name: "scorer", Component: scorer}), nil
}
