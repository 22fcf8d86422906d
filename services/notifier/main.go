// Command notifier delivers vigil's alerts to webhooks, Slack and Prometheus Alertmanager, routed
// by app and severity, minus what operators silenced.
package main

import (
	"context"
	"os"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/lifecycle"
	"github.com/vigilhq/vigil/services/internal/app"
	"github.com/vigilhq/vigil/services/internal/notifysvc"
	"github.com/vigilhq/vigil/services/internal/settings"
)

func main() { os.Exit(app.Main(run)) }

func run(ctx context.Context) error {
	var common config.Common
	var c notifysvc.Config
	if err := config.Load(settings.Known(), &common, &c); err != nil {
		return err
	}
	return app.Serve(ctx, "notifier", common, c.AdminAddr, func(d app.Deps) ([]lifecycle.Named, error) {
		n, err := notifysvc.New(ctx, d, c, nil)
		if err != nil {
			return nil, err
		}
		return []lifecycle.Named{{Name: "notifier", Component: n}}, nil
	})
}
