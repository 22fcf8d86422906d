// Command ingest is vigil's HTTP gateway: applications that cannot speak NATS POST their events
// (JSON or NDJSON, POST /v1/events) or their OpenTelemetry traces (OTLP/HTTP, POST /v1/traces)
// with an API key, and the model calls land on vigil.events.<app>, de-duplicated by event id.
package main

import (
	"context"
	"os"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/lifecycle"
	"github.com/vigilhq/vigil/services/internal/app"
	"github.com/vigilhq/vigil/services/internal/ingestsvc"
	"github.com/vigilhq/vigil/services/internal/settings"
)

func main() { os.Exit(app.Main(run)) }

func run(ctx context.Context) error {
	var common config.Common
	var c ingestsvc.Config
	if err := config.Load(settings.Known(), &common, &c); err != nil {
		return err
	}
	return app.Serve(ctx, "ingest", common, c.AdminAddr, func(d app.Deps) ([]lifecycle.Named, error) {
		s, err := ingestsvc.New(d, c)
		if err != nil {
			return nil, err
		}
		d.Log.Info("ingest API listening", "addr", s.Addr())
		return []lifecycle.Named{{Name: "http", Component: s}}, nil
	})
}
