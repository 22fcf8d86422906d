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
}

// Components builds every stage, listed downstream-first (writer, drift, scorer) so that
// lifecycle.Run starts consumers before producers and drains producers first.
func Components(ctx context.Context, d app.Deps, c Config, conn driver.Conn, contracts *scoring.Contracts) ([]lifecycle.Named, error) {
	writers, err := writersvc.New(ctx, d, c.Writer, conn)
	if err != nil {
		return nil, err
	}
	drifter, err := driftsvc.New(ctx, d, c.Drift)
	if err != nil {
		return nil, err
	}
	scorer, err := scorersvc.New(ctx, d, c.Scorer, contracts)
	if err != nil {
		return nil, err
	}
	return append(writers,
		lifecycle.Named{Name: "drift", Component: drifter},
		lifecycle.Named{Name: "scorer", Component: scorer}), nil
}
