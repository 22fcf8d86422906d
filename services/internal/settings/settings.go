// Package settings knows every configuration variable of every vigil service, so that each one
// can reject a VIGIL_ variable nobody reads (a typo) while sharing one env file with the others.
package settings

import (
	"fmt"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/services/internal/driftsvc"
	"github.com/vigilhq/vigil/services/internal/ingestsvc"
	"github.com/vigilhq/vigil/services/internal/judgesvc"
	"github.com/vigilhq/vigil/services/internal/notifysvc"
	"github.com/vigilhq/vigil/services/internal/scorersvc"
	"github.com/vigilhq/vigil/services/internal/writersvc"
)

// Dev configures `vigil dev`, the all-in-one mode.
type Dev struct {
	DataDir   string `envconfig:"DEV_DATA_DIR" default:".vigil" desc:"where vigil dev keeps the embedded NATS store"`
	NATSPort  int    `envconfig:"DEV_NATS_PORT" default:"4222" desc:"client port of the embedded NATS server"`
	AdminAddr string `envconfig:"DEV_ADMIN_ADDR" default:":9100" desc:"listen address of vigil dev's /metrics, /healthz and /readyz"`
	DemoRate  int    `envconfig:"DEV_DEMO_RATE" default:"40" desc:"events per second the demo traffic generator publishes"`
	NATSFsync bool   `envconfig:"DEV_NATS_FSYNC" default:"false" desc:"fsync the embedded JetStream store on every write (the durable mode; see README, Durability)"`
	MemoryMiB int    `envconfig:"DEV_MEMORY_LIMIT_MIB" default:"896" desc:"soft limit of vigil dev's Go heap in MiB (the garbage collector works harder near it; 0 turns it off; GOMEMLIMIT, when set, wins); under it the collector waits for the heap to grow by twice the live data (GOGC=200) unless GOGC is set"`
}

// Validate reports every bad field at once.
func (d Dev) Validate() error {
	if d.NATSPort < 0 || d.NATSPort > 65535 {
		return fmt.Errorf("VIGIL_DEV_NATS_PORT=%d: want 0 to 65535", d.NATSPort)
	}
	if d.DemoRate < 1 || d.DemoRate > 100000 {
		return fmt.Errorf("VIGIL_DEV_DEMO_RATE=%d: want 1 to 100000", d.DemoRate)
	}
	if d.MemoryMiB < 0 {
		return fmt.Errorf("VIGIL_DEV_MEMORY_LIMIT_MIB=%d: want 0 (off) or more", d.MemoryMiB)
	}
	return nil
}

// Specs lists every configuration struct of every service, in README order.
func Specs() []any {
	return []any{&config.Common{}, &scorersvc.Config{}, &driftsvc.Config{}, &writersvc.Config{}, &notifysvc.Config{}, &ingestsvc.Config{}, &judgesvc.Config{}, &Dev{}}
}

// Known returns the name of every variable any vigil service reads.
func Known() map[string]bool {
	keys, err := config.Keys(Specs()...)
	if err != nil {
		panic(fmt.Sprintf("settings: %v", err)) // a malformed struct tag: a programming error
	}
	return keys
}
