package ingestsvc

import (
	"context"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/lifecycle"
	"github.com/vigilhq/vigil/services/internal/app"
)

// Run serves the ingest API with the configuration in the environment until ctx ends, then
// drains. known lists every variable any vigil service reads.
func Run(ctx context.Context, known map[string]bool) error {
	var common config.Common
	var c Config
	if err := config.Load(known, &common, &c); err != nil {
		return err
	}
	return app.Serve(ctx, "ingest", common, c.AdminAddr, func(d app.Deps) ([]lifecycle.Named, error) {
		s, err := New(d, c)
		if err != nil {
			return nil, err
		}
		d.Log.Info("ingest API listening", "addr", s.Addr())
		return []lifecycle.Named{{Name: "http", Component: s}}, nil
	})
}
