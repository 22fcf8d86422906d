// Command judge asks LLM judges about a deterministic sample of model-call events and publishes
// their scores beside the checks'. It has its own durable consumer, so a slow or failing judge
// endpoint never holds up the scorer. Run several replicas: they share the consumer (each has
// its own rate and spend caps).
package main

import (
	"context"
	"os"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/lifecycle"
	"github.com/vigilhq/vigil/services/internal/app"
	"github.com/vigilhq/vigil/services/internal/judgesvc"
	"github.com/vigilhq/vigil/services/internal/settings"
)

func main() { os.Exit(app.Main(run)) }

func run(ctx context.Context) error {
	var common config.Common
	var c judgesvc.Config
	if err := config.Load(settings.Known(), &common, &c); err != nil {
		return err
	}
	return app.Serve(ctx, "judge", common, c.AdminAddr, func(d app.Deps) ([]lifecycle.Named, error) {
		j, err := judgesvc.New(ctx, d, c, nil)
		if err != nil {
			return nil, err
		}
		return []lifecycle.Named{{Name: "judge", Component: j}}, nil
	})
}
