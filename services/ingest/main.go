// Command ingest is vigil's HTTP gateway: applications that cannot speak NATS POST their events
// (JSON or NDJSON, POST /v1/events) or their OpenTelemetry traces (OTLP/HTTP, POST /v1/traces)
// with an API key, and the model calls land on vigil.events.<app>, de-duplicated by event id.
package main

import (
	"context"
	"os"

	"github.com/vigilhq/vigil/services/internal/app"
	"github.com/vigilhq/vigil/services/internal/ingestsvc"
	"github.com/vigilhq/vigil/services/internal/settings"
)

func main() { os.Exit(app.Main(run)) }

func run(ctx context.Context) error { return ingestsvc.Run(ctx, settings.Known()) }
