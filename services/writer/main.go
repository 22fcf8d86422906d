// Command writer stores events, scores and alerts in ClickHouse, applying the schema migrations
// at start.
package main

import (
	"context"
	"os"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/pkg/lifecycle"
	"github.com/vigilhq/vigil/services/internal/app"
	"github.com/vigilhq/vigil/services/internal/settings"
	"github.com/vigilhq/vigil/services/internal/writersvc"
)

func main() { os.Exit(app.Main(run)) }

func run(ctx context.Context) error {
	var common config.Common
	var c writersvc.Config
	if err := config.Load(settings.Known(), &common, &c); err != nil {
		return err
	}
	return app.Serve(ctx, "writer", common, c.AdminAddr, func(d app.Deps) ([]lifecycle.Named, error) {
		conn, err := writersvc.Connect(ctx, common, d.Log)
		if err != nil {
			return nil, err
		}
		parts, err := writersvc.New(ctx, d, c, conn)
		if err != nil {
			conn.Close()
			return nil, err
		}
		return append([]lifecycle.Named{{Name: "clickhouse", Component: lifecycle.Func{OnShutdown: func(context.Context) error { return conn.Close() }}}}, parts...), nil
	})
}
