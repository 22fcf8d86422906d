package ingestsvc_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/pkg/config"
	"github.com/vigilhq/vigil/services/internal/ingestsvc"
	"github.com/vigilhq/vigil/services/internal/settings"
)

func TestConfigDefaultsLoad(t *testing.T) {
	t.Setenv("VIGIL_INGEST_API_KEYS", "shop:"+shopKey)
	var c ingestsvc.Config
	if err := config.Load(settings.Known(), &c); err != nil {
		t.Fatalf("Load with only VIGIL_INGEST_API_KEYS = %v", err)
	}
	if c.Addr != ":8080" || c.AdminAddr != ":9101" || c.MaxBodyBytes != 10<<20 || c.MaxPending < 1 {
		t.Errorf("defaults = %+v, want :8080, :9101 and 10 MiB", c)
	}
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	keysFile := filepath.Join(dir, "keys")
	if err := os.WriteFile(keysFile, []byte("# rotated on 2026-11-01\nsupport:support-key-0123456789\n\nshop:"+shopKey+" # old key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badFile := filepath.Join(dir, "bad")
	if err := os.WriteFile(badFile, []byte("support-key-without-app-0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	valid := testConfig()
	tests := []struct {
		name   string
		change func(*ingestsvc.Config)
		want   []string // substrings of the error; none: valid
	}{
		{"valid", func(*ingestsvc.Config) {}, nil},
		{"keys from a file", func(c *ingestsvc.Config) { c.APIKeys, c.APIKeysFile = "", keysFile }, nil},
		{"keys from both", func(c *ingestsvc.Config) { c.APIKeysFile = keysFile }, nil},
		{"no key", func(c *ingestsvc.Config) { c.APIKeys = "" }, []string{"VIGIL_INGEST_API_KEYS, VIGIL_INGEST_API_KEYS_FILE: no API key"}},
		{"entry without app", func(c *ingestsvc.Config) { c.APIKeys = "shop" + shopKey }, []string{"VIGIL_INGEST_API_KEYS entry 1: want app:key"}},
		{"short key", func(c *ingestsvc.Config) { c.APIKeys = "shop:abc" }, []string{`entry 1: the key of app "shop" has 3 characters; use at least 16`}},
		{"app not a subject token", func(c *ingestsvc.Config) { c.APIKeys = "shop.eu:" + shopKey }, []string{`app "shop.eu"`}},
		{"one key, two apps", func(c *ingestsvc.Config) { c.APIKeys = "shop:" + shopKey + ",bank:" + shopKey }, []string{`entry 2: the key of app "bank" is also the key of app "shop"`}},
		{"missing file", func(c *ingestsvc.Config) { c.APIKeysFile = filepath.Join(dir, "nope") }, []string{"VIGIL_INGEST_API_KEYS_FILE=", "no such file"}},
		{"bad file line", func(c *ingestsvc.Config) { c.APIKeysFile = badFile }, []string{"line 1: want app:key"}},
		{"every bad number at once", func(c *ingestsvc.Config) {
			c.MaxBodyBytes, c.MaxPending, c.PublishTimeout, c.Addr = 10, 0, 0, ""
		}, []string{"VIGIL_INGEST_MAX_BODY_BYTES=10", "VIGIL_INGEST_MAX_PENDING=0", "VIGIL_INGEST_PUBLISH_TIMEOUT=0s", "VIGIL_INGEST_ADDR"}},
	}
	for _, tc := range tests {
		c := valid
		tc.change(&c)
		err := c.Validate()
		if len(tc.want) == 0 {
			if err != nil {
				t.Errorf("%s: Validate() = %v, want nil", tc.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: Validate() = nil, want an error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: Validate() = %v, want it to contain %q", tc.name, err, w)
			}
		}
		if strings.Contains(err.Error(), shopKey) || strings.Contains(err.Error(), "support-key") {
			t.Errorf("%s: Validate() = %v, which shows a key", tc.name, err)
		}
	}
}

func TestKeysMapToApps(t *testing.T) {
	c := testConfig()
	c.APIKeys = " shop : " + shopKey + " , shop:" + bankKey + ","
	keys, err := c.Keys()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{shopKey, bankKey} {
		if app, ok := keys.App(k); !ok || app != "shop" {
			t.Errorf("App(key) = %q, %v; want shop (two keys of one app)", app, ok)
		}
	}
	if _, ok := keys.App(shopKey + "x"); ok {
		t.Error("App of an unknown key found an app")
	}
}
