// Command drift consumes scored records, tracks every quality series against its baseline and
// publishes alert transitions.
package main

import (
	"context"
	"os"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/lifecycle"
	"github.com/vigilhq/vigil/services/internal/app"
	"github.com/vigilhq/vigil/services/internal/driftsvc"
	"github.com/vigilhq/vigil/services/internal/settings"
)

func main() { os.Exit(app.Main(run)) }

func run(ctx context.Context) error {
	var common config.Common
	var c driftsvc.Config
	if err := config.Load(settings.Known(), &common, &c); err != nil {
		return err
	}
	return app.Serve(ctx, "drift", common, c.AdminAddr, func(d app.Deps) ([]lifecycle.Named, error) {
		s, err := driftsvc.New(ctx, d, c)
		if err != nil {
			return nil, err
		}
		return []lifecycle.Named{{Name: "drift", Component: s}}, nil
	})
}
