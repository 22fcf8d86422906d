package config_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilhq/vigil/pkg/config"
)

func TestKeysNameEveryVariable(t *testing.T) {
	keys, err := config.Keys(&config.Common{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"VIGIL_NATS_URL", "VIGIL_CLICKHOUSE_DSN", "VIGIL_LOG_FORMAT", "VIGIL_STREAM_REPLICAS", "VIGIL_SCORED_PARTITIONS", "VIGIL_MAX_EVENT_BYTES"} {
		if !keys[want] {
			t.Errorf("Keys() lacks %s; got %v", want, keys)
		}
	}
}

func TestLoadDefaultsAndValidation(t *testing.T) {
	keys, _ := config.Keys(&config.Common{})
	var c config.Common
	if err := config.Load(keys, &c); err != nil {
		t.Fatalf("Load with defaults: %v", err)
	}
	if c.Streams.Partitions != 16 || c.NATSURL != "nats://127.0.0.1:4222" {
		t.Errorf("defaults = %+v", c)
	}

	t.Setenv("VIGIL_LOG_LEVEL", "loud")
	t.Setenv("VIGIL_SCORED_PARTITIONS", "0")
	t.Setenv("VIGIL_NATS_URLS", "nats://x")
	err := config.Load(keys, &c)
	if err == nil {
		t.Fatal("Load accepted a bad level, zero partitions and a typo")
	}
	for _, want := range []string{"VIGIL_LOG_LEVEL=\"loud\"", "VIGIL_SCORED_PARTITIONS=0", "VIGIL_NATS_URLS"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Load error %q does not name %s", err, want)
		}
	}
}

func TestCheckUnknown(t *testing.T) {
	tests := []struct {
		env  []string
		want string
	}{
		{[]string{"PATH=/bin", "VIGIL_NATS_URL=x"}, ""},
		{[]string{"VIGIL_NAT_URL=x", "VIGIL_NATS_URL=y"}, "unknown variables VIGIL_NAT_URL"},
	}
	for _, tt := range tests {
		err := config.CheckUnknown(tt.env, map[string]bool{"VIGIL_NATS_URL": true})
		got := ""
		if err != nil {
			got = err.Error()[:len(tt.want)]
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("CheckUnknown(%v) (-want +got):\n%s", tt.env, diff)
		}
	}
}

func TestReference(t *testing.T) {
	var buf bytes.Buffer
	if err := config.Reference(&buf, &config.Common{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "`VIGIL_CLICKHOUSE_DSN`") {
		t.Errorf("Reference lacks VIGIL_CLICKHOUSE_DSN:\n%s", buf.String())
	}
}
