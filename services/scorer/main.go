// Command scorer consumes model-call events, runs vigil's checks on every output and publishes
// one scored record per event. Run several replicas: they share one durable consumer.
package main

import (
	"context"
	"os"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/lifecycle"
	"github.com/vigilhq/vigil/services/internal/app"
	"github.com/vigilhq/vigil/services/internal/scorersvc"
	"github.com/vigilhq/vigil/services/internal/settings"
)

func main() { os.Exit(app.Main(run)) }

func run(ctx context.Context) error {
	var common config.Common
	var c scorersvc.Config
	if err := config.Load(settings.Known(), &common, &c); err != nil {
		return err
	}
	return app.Serve(ctx, "scorer", common, c.AdminAddr, func(d app.Deps) ([]lifecycle.Named, error) {
		s, err := scorersvc.New(ctx, d, c, nil)
		if err != nil {
			return nil, err
		}
		return []lifecycle.Named{{Name: "scorer", Component: s}}, nil
	})
}
